"""Schedule versions are append-only; loans disbursed before versions existed get their
version 1: the schedule they have now (nothing could reschedule them before)."""

from django.db import migrations

TRIGGERS = """
CREATE TRIGGER loans_scheduleversion_append_only
    BEFORE UPDATE OR DELETE ON loans_scheduleversion
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER loans_scheduleversionrow_append_only
    BEFORE UPDATE OR DELETE ON loans_scheduleversionrow
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS loans_scheduleversion_append_only ON loans_scheduleversion;
DROP TRIGGER IF EXISTS loans_scheduleversionrow_append_only ON loans_scheduleversionrow;
"""

BACKFILL = """
INSERT INTO loans_scheduleversion
    (loan_id, number, reason, note, business_date, emi_amount, total_interest, created_at)
SELECT l.id, 1, 'DISBURSEMENT', '', coalesce(l.disbursed_on, l.disbursed_at::date),
       l.emi_amount, l.total_interest, coalesce(l.disbursed_at, now())
FROM loans_loan l
WHERE l.disbursement_entry_id IS NOT NULL;

INSERT INTO loans_scheduleversionrow
    (version_id, number, due_date, principal, interest, total, remaining_principal)
SELECT v.id, i.number, i.due_date, i.principal, i.interest, i.total, i.remaining_principal
FROM loans_scheduleversion v JOIN loans_installment i ON i.loan_id = v.loan_id;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0017_payoff_prepayment_schedule_versions"),
        ("ledger", "0002_ledger_triggers"),
    ]

    operations = [
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
