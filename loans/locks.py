from django.db.models import QuerySet

from loans.models import Loan


def loan_qs_select_for_update() -> QuerySet[Loan]:
    """Loan rows locked for a transition or a repayment (first in the lock order).

    The product comes along (its rules price and service the loan); only the loan is locked.
    """
    return Loan.objects.select_related("product").select_for_update(of=("self",), no_key=True)
