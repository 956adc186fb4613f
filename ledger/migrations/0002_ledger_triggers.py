"""Invariants of the ledger that PostgreSQL enforces whoever writes (ORM or raw SQL)."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is not allowed: the ledger is append-only (post a reversing entry)',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER ledger_journalentry_append_only
    BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_posting_append_only
    BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

BALANCED = """
CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry bigint;
    legs integer;
    total numeric;
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        entry := NEW.entry_id;
    ELSE
        entry := NEW.id;
    END IF;
    SELECT count(*), coalesce(sum(amount), 0) INTO legs, total
        FROM ledger_posting WHERE entry_id = entry;
    IF legs < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance: % postings summing to %',
            entry, legs, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

-- Checked at COMMIT, once all the postings of the entry are in.
CREATE CONSTRAINT TRIGGER ledger_journalentry_balanced
    AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();

CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
"""

DROP = """
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_journalentry_balanced ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_check_entry_balanced();
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunSQL(APPEND_ONLY + BALANCED, reverse_sql=DROP)]
