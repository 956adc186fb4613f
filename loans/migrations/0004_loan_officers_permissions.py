from django.db import migrations

# This migration's own copy of the officers' permissions (accounts.services keeps the
# current list): view everything a decision needs, and decide.
PERMISSIONS = [
    "accounts.view_user",
    "wallets.view_wallet",
    "loans.view_loan",
    "loans.approve_loan",
    "loans.reject_loan",
    "loans.view_installment",
    "loans.view_repayment",
    "loans.view_loanevent",
    "ledger.view_account",
    "ledger.view_journalentry",
    "ledger.view_posting",
    "ledger.view_idempotencyrecord",
]


def grant(apps, schema_editor):
    from accounts.services import officer_group_sync

    officer_group_sync(apps=apps, permissions=PERMISSIONS)


def revoke(apps, schema_editor):
    from accounts.services import officer_group_sync

    officer_group_sync(apps=apps, permissions=["accounts.view_user", "wallets.view_wallet"])


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0003_loanevent_append_only"),
        ("accounts", "0002_loan_officers_group"),
        ("ledger", "0003_system_accounts"),
        ("wallets", "0001_initial"),
    ]

    # ledger.0005 hands IdempotencyRecord to the idempotency app: the permission named
    # above must exist in the ledger's state when this runs.
    run_before = [("ledger", "0005_idempotencyrecord_moves_out")]

    operations = [migrations.RunPython(grant, revoke)]
