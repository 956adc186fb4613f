from django.db import migrations

# This migration's own copy of the officers' permissions (accounts.services keeps the
# current list): officers see the notifications outbox and its delivery state.
PERMISSIONS = [
    "accounts.view_user",
    "wallets.view_wallet",
    "loans.view_loan",
    "loans.approve_loan",
    "loans.reject_loan",
    "loans.view_installment",
    "loans.view_repayment",
    "loans.view_loanevent",
    "loans.waive_fee",
    "loans.view_loanproduct",
    "loans.view_feewaiver",
    "loans.view_delinquencychange",
    "loans.view_repaymentallocation",
    "loans.view_closefailure",
    "ledger.view_account",
    "ledger.view_journalentry",
    "ledger.view_posting",
    "idempotency.view_idempotencyrecord",
    "notifications.view_notification",
]


def grant(apps, schema_editor):
    from accounts.services import officer_group_sync

    officer_group_sync(apps=apps, permissions=PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_outbox"),
        ("loans", "0012_installments_by_due_date"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
