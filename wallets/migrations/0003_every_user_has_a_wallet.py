from decimal import Decimal

from django.conf import settings
from django.db import migrations


def open_missing_wallets(apps, schema_editor):
    """Staff had no wallet: every user has one now, as in the seed system."""
    user_model = apps.get_model("accounts", "User")
    account_model = apps.get_model("ledger", "Account")
    wallet_model = apps.get_model("wallets", "Wallet")
    for user in user_model.objects.filter(wallet__isnull=True).order_by("pk"):
        account = account_model.objects.create(
            code=f"wallet:{user.pk}",
            name=f"Wallet of {user.email}",
            kind="LIABILITY",
            balance=Decimal("0.00"),
        )
        wallet_model.objects.create(user=user, account=account, currency=settings.CURRENCY)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0002_balance_in_ledger"), ("accounts", "0002_loan_officers_group")]

    # Not undone: the wallets stay (empty wallets harm nothing; postings may follow).
    operations = [migrations.RunPython(open_missing_wallets, migrations.RunPython.noop)]
