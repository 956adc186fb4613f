from django.db import migrations, models


class Migration(migrations.Migration):
    """The ledger keeps the cached balances of accounts that hold someone's money.

    They were kept on the wallets' rows; ``wallets.0002_balance_in_ledger`` copies them
    here and drops the old column.
    """

    dependencies = [("ledger", "0003_system_accounts")]

    operations = [
        migrations.AddField(
            model_name="account",
            name="balance",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True),
        ),
        migrations.AddField(
            model_name="account",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(("balance__isnull", True), ("balance__gte", 0), _connector="OR"),
                name="ledger_account_balance_non_negative",
            ),
        ),
    ]
