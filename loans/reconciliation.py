"""Loan checks of ``manage.py reconcile`` (see ``ledger.reconciliation``)."""

LOAN_CHECKS: list = []
