from django.db import migrations


def copy_balances(apps, schema_editor):
    schema_editor.execute(
        "UPDATE ledger_account a SET balance = w.balance, updated_at = w.updated_at "
        "FROM wallets_wallet w WHERE w.account_id = a.id"
    )


def copy_balances_back(apps, schema_editor):
    schema_editor.execute(
        "UPDATE wallets_wallet w SET balance = a.balance, updated_at = a.updated_at "
        "FROM ledger_account a WHERE w.account_id = a.id"
    )


class Migration(migrations.Migration):
    """A wallet's balance is its ledger account's cached balance (``ledger.0004``)."""

    dependencies = [("wallets", "0001_initial"), ("ledger", "0004_account_balance")]

    operations = [
        migrations.RunPython(copy_balances, copy_balances_back),
        migrations.RemoveConstraint(
            model_name="wallet", name="wallets_wallet_balance_non_negative"
        ),
        migrations.RemoveField(model_name="wallet", name="balance"),
        migrations.RemoveField(model_name="wallet", name="updated_at"),
    ]
