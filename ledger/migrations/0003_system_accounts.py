from django.db import migrations

SYSTEM_ACCOUNTS = [
    ("bank", "Funding bank (money held at the bank)", "ASSET"),
    ("loans_receivable", "Loans receivable (principal owed by borrowers)", "ASSET"),
    ("interest_income", "Interest income", "INCOME"),
    ("fee_income", "Fee income", "INCOME"),
]


def create_system_accounts(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    for code, name, kind in SYSTEM_ACCOUNTS:
        Account.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_triggers")]

    operations = [migrations.RunPython(create_system_accounts, migrations.RunPython.noop)]
