from django.db.models import QuerySet

from loans.exceptions import LoanNotFoundError
from loans.models import Installment, Loan, Repayment


def loan_get_visible(*, loan_id: int, user) -> Loan:
    """A loan its owner or any officer may see; anyone else gets 'not found'."""
    loans = Loan.objects.all()
    if not user.is_officer:
        loans = loans.filter(borrower=user)
    try:
        return loans.get(pk=loan_id)
    except Loan.DoesNotExist as exc:
        raise LoanNotFoundError(f"Loan {loan_id} was not found.") from exc


def loan_list_for_borrower(*, borrower) -> QuerySet[Loan]:
    return Loan.objects.filter(borrower=borrower).order_by("-created_at", "-pk")


def loan_list_pending() -> QuerySet[Loan]:
    """Loans waiting for an officer: new applications and approvals awaiting a checker."""
    return Loan.objects.filter(status__in=[Loan.Status.APPLIED, Loan.Status.APPROVED]).order_by(
        "created_at", "pk"
    )


def installment_list(*, loan: Loan) -> QuerySet[Installment]:
    return loan.installments.order_by("number")


def repayment_list(*, loan: Loan) -> QuerySet[Repayment]:
    return loan.repayments.order_by("-created_at", "-pk")
