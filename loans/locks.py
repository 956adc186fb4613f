from django.db.models import QuerySet

from loans.models import Loan, LoanProduct


def loan_qs_select_for_update() -> QuerySet[Loan]:
    """Loan rows locked for a transition or a repayment (first in the lock order).

    The product comes along (its rules price and service the loan); only the loan is locked.
    """
    return Loan.objects.select_related("product").select_for_update(of=("self",), no_key=True)


def loan_product_qs_lock_against_new_loans() -> QuerySet[LoanProduct]:
    """Product rows locked so that no loan can be sold on them until the lock is released.

    ``no_key=False`` on purpose: a new loan's foreign key takes FOR KEY SHARE on its
    product, which only FOR UPDATE blocks.
    """
    return LoanProduct.objects.select_for_update(no_key=False)
