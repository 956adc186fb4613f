from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = "Loans"

    def ready(self):
        from ledger.reconciliation import register_checks, register_justifications
        from loans.reconciliation import LOAN_CHECKS, LOAN_JUSTIFICATIONS
        from loans.selectors import repayment_describe_by_entry
        from wallets.services import register_spending_describer

        register_checks(LOAN_CHECKS)
        register_justifications(LOAN_JUSTIFICATIONS)
        register_spending_describer(repayment_describe_by_entry)
