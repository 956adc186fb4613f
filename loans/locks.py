from django.db.models import QuerySet

from loans.models import Loan


def loan_qs_select_for_update() -> QuerySet[Loan]:
    """Loan rows locked for a transition or a repayment (first in the lock order)."""
    return Loan.objects.select_for_update(of=("self",), no_key=True)
