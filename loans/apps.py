from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = "Loans"

    def ready(self):
        from ledger.reconciliation import register_checks
        from loans.reconciliation import LOAN_CHECKS

        register_checks(LOAN_CHECKS)
