from django.db import migrations

SQL = """
CREATE TRIGGER loans_loanevent_append_only
    BEFORE UPDATE OR DELETE ON loans_loanevent
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("loans", "0002_loanevent"), ("ledger", "0002_ledger_triggers")]

    operations = [
        migrations.RunSQL(SQL, "DROP TRIGGER IF EXISTS loans_loanevent_append_only ON loans_loanevent;")
    ]
