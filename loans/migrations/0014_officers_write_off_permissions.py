from django.db import migrations

# This migration's own copy of the officers' permissions (accounts.services keeps the
# current list): write-off and recovery add writing off loans and seeing write-offs,
# recoveries and the requests waiting for a second officer (with
# notifications.0002's outbox).
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
    "loans.write_off_loan",
    "loans.view_loanwriteoff",
    "loans.view_loanrecovery",
    "loans.view_officeractionrequest",
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
        ("loans", "0013_write_off_and_recovery"),
        ("notifications", "0002_officers_see_the_outbox"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
