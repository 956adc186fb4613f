from django.db import migrations


class Migration(migrations.Migration):
    """IdempotencyRecord now belongs to the ``idempotency`` app (state only; the table stays)."""

    dependencies = [("ledger", "0004_account_balance"), ("idempotency", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")],
            database_operations=[],
        ),
    ]
