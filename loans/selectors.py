from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from lendingsite.months import month_window
from loans.exceptions import LoanNotFoundError
from loans.models import (
    FeeWaiver,
    Installment,
    Loan,
    LoanEvent,
    LoanProduct,
    Repayment,
)

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
PENDING_STATUSES = (Loan.Status.APPLIED, Loan.Status.APPROVED)  # waiting for an officer
DISBURSED_STATUSES = (Loan.Status.ACTIVE, Loan.Status.CLOSED)  # reached by disbursement only


def loan_get_visible(*, loan_id: int, user) -> Loan:
    """A loan its owner or any officer may see; anyone else gets 'not found'."""
    loans = Loan.objects.select_related("product")
    if not user.is_officer:
        loans = loans.filter(borrower=user)
    try:
        return loans.get(pk=loan_id)
    except Loan.DoesNotExist as exc:
        raise LoanNotFoundError(f"Loan {loan_id} was not found.") from exc


def loan_list_for_borrower(*, borrower) -> QuerySet[Loan]:
    """The loans whose borrower is ``borrower``, newest first."""
    return (
        Loan.objects.filter(borrower=borrower)
        .select_related("product")
        .order_by("-created_at", "-pk")
    )


def loan_list_pending() -> QuerySet[Loan]:
    """Loans waiting for an officer: new applications and approvals awaiting a checker."""
    return (
        Loan.objects.filter(status__in=PENDING_STATUSES)
        .select_related("product")
        .order_by("created_at", "pk")
    )


def loan_product_list() -> list[LoanProduct]:
    """Every product, active or not, by code: one query."""
    return list(LoanProduct.objects.order_by("code"))


def bucket_codes(products) -> list[str]:
    """The delinquency buckets the products define, by first day past due, each once."""
    firsts: dict[str, int] = {}
    for product in products:
        for code, first in product.buckets:
            firsts[code] = min(first, firsts.get(code, first))
    return sorted(firsts, key=lambda code: (firsts[code], code))


@dataclass(frozen=True)
class LoanPosition:
    """Where an active loan stands on a business date."""

    overdue_amount: Decimal = ZERO  # unpaid, fees included, of installments already due
    fees_due: Decimal = ZERO  # unpaid late fees
    next_due_date: date | None = None  # the first unpaid installment not yet due
    next_due_amount: Decimal | None = None  # and what is unpaid on it, fees included


def loan_positions(*, loan_ids, as_of: date) -> dict[int, LoanPosition]:
    """The positions of loans on ``as_of``, from their unpaid installments: one query."""
    rows = (
        Installment.objects.filter(loan_id__in=loan_ids, paid_on__isnull=True)
        .order_by("loan_id", "number")
        .values_list(
            "loan_id",
            "due_date",
            "principal",
            "interest",
            "principal_paid",
            "interest_paid",
            "fee_charged",
            "fee_paid",
            "fee_waived",
        )
    )
    found: dict[int, dict] = {}
    for loan_id, due, principal, interest, p_paid, i_paid, charged, f_paid, waived in rows:
        fee = charged - f_paid - waived
        unpaid = principal - p_paid + interest - i_paid + fee
        position = found.setdefault(loan_id, {"overdue_amount": ZERO, "fees_due": ZERO})
        position["fees_due"] += fee
        if due < as_of:
            position["overdue_amount"] += unpaid
        elif "next_due_date" not in position:
            position["next_due_date"], position["next_due_amount"] = due, unpaid
    return {loan_id: LoanPosition(**fields) for loan_id, fields in found.items()}


def _unpaid_total(installments: QuerySet[Installment]) -> Coalesce:
    """A subquery: what is unpaid, fees included, of ``installments`` of the outer loan."""
    unpaid = (
        F("principal")
        - F("principal_paid")
        + F("interest")
        - F("interest_paid")
        + F("fee_charged")
        - F("fee_paid")
        - F("fee_waived")
    )
    total = installments.order_by().values("loan_id").annotate(total=Sum(unpaid)).values("total")
    return Coalesce(Subquery(total), Value(ZERO), output_field=MONEY)


def loan_list_overdue(*, as_of: date) -> QuerySet[Loan]:
    """The collections queue: active loans past due, longest overdue first.

    Each loan comes with its borrower and product, ``overdue_amount`` (what is unpaid,
    fees included, of its installments due before ``as_of``, as ``loan_positions``
    reckons it) and ``fees_due`` (its unpaid late fees). The amounts are subqueries,
    run only for the rows fetched: a page of the queue is one query.
    """
    unpaid = Installment.objects.filter(loan_id=OuterRef("pk"), paid_on__isnull=True)
    fees = F("fee_charged") - F("fee_paid") - F("fee_waived")
    fees_due = unpaid.order_by().values("loan_id").annotate(total=Sum(fees)).values("total")
    return (
        Loan.objects.filter(status=Loan.Status.ACTIVE, days_past_due__gt=0)
        .select_related("borrower", "product")
        .annotate(
            overdue_amount=_unpaid_total(unpaid.filter(due_date__lt=as_of)),
            fees_due=Coalesce(Subquery(fees_due), Value(ZERO), output_field=MONEY),
        )
        .order_by("-days_past_due", "pk")
    )


def installment_list(*, loan: Loan) -> QuerySet[Installment]:
    return loan.installments.order_by("number")


def repayment_list(*, loan: Loan) -> QuerySet[Repayment]:
    return loan.repayments.order_by("-created_at", "-pk")


def installment_list_fee_due(*, loan_id: int) -> QuerySet[Installment]:
    """A loan's installments with a late fee neither paid nor waived, oldest first."""
    return Installment.objects.filter(
        loan_id=loan_id, paid_on__isnull=True, fee_charged__gt=F("fee_paid") + F("fee_waived")
    ).order_by("number")


def fee_waiver_list(*, loan_id: int) -> QuerySet[FeeWaiver]:
    """The waivers of a loan's fees, newest first, with their installment and officer."""
    return (
        FeeWaiver.objects.filter(installment__loan_id=loan_id)
        .select_related("installment", "officer")
        .order_by("-pk")
    )


# --- Portfolio figures (the back office's dashboard) --------------------------------
# Set-based aggregates: each selector runs a fixed number of queries, whatever the number
# of loans. The figures are for display; decisions read the loan rows under lock.


def _sum(field: str, **extra) -> Coalesce:
    return Coalesce(Sum(field, **extra), Value(ZERO), output_field=MONEY)


@dataclass(frozen=True)
class StatusFigures:
    status: str
    label: str
    count: int
    principal: Decimal  # the loans' principal, whatever has been repaid
    outstanding: Decimal  # unpaid principal plus unpaid scheduled interest


@dataclass(frozen=True)
class PortfolioSummary:
    by_status: list[StatusFigures]  # every status, in the state machine's order
    disbursed: Decimal  # principal ever paid out (loans now ACTIVE or CLOSED)
    collected_principal: Decimal
    collected_interest: Decimal

    @property
    def outstanding_principal(self) -> Decimal:
        """Principal paid out and not yet repaid (repayments only reach disbursed loans)."""
        return self.disbursed - self.collected_principal

    @property
    def outstanding_total(self) -> Decimal:
        return sum((row.outstanding for row in self.by_status), ZERO)

    @property
    def collected(self) -> Decimal:
        return self.collected_principal + self.collected_interest

    @property
    def pending_count(self) -> int:
        """Loans waiting for an officer: new applications and approvals awaiting a checker."""
        return sum(row.count for row in self.by_status if row.status in PENDING_STATUSES)


def loan_portfolio_summary() -> PortfolioSummary:
    """Count and total the loans by status, and total what was paid out and collected.

    Two queries: one grouped over the loans, one over the repayments.
    """
    rows = {
        row["status"]: row
        for row in Loan.objects.order_by()
        .values("status")
        .annotate(
            count=Count("pk"),
            principal=_sum("principal_amount"),
            outstanding=_sum("outstanding_amount"),
        )
    }
    by_status = [
        StatusFigures(
            status=status,
            label=label,
            count=rows.get(status, {}).get("count", 0),
            principal=rows.get(status, {}).get("principal", ZERO),
            outstanding=rows.get(status, {}).get("outstanding", ZERO),
        )
        for status, label in Loan.Status.choices
    ]
    collected = Repayment.objects.filter(status=Repayment.Status.SUCCESS).aggregate(
        principal=_sum("principal_part"), interest=_sum("interest_part")
    )
    return PortfolioSummary(
        by_status=by_status,
        disbursed=sum(
            (row.principal for row in by_status if row.status in DISBURSED_STATUSES), ZERO
        ),
        collected_principal=collected["principal"],
        collected_interest=collected["interest"],
    )


@dataclass(frozen=True)
class MonthFlows:
    month: date  # the first day of the month
    disbursed: Decimal
    repaid_principal: Decimal
    repaid_interest: Decimal

    @property
    def repaid(self) -> Decimal:
        return self.repaid_principal + self.repaid_interest


def loan_flows_by_month(*, months: int = 12, until: date | None = None) -> list[MonthFlows]:
    """Total the money paid out and repaid in each of the last ``months`` months, oldest first.

    Months are calendar months in the site's time zone; an empty month totals zero. Two
    queries: disbursements (by ``disbursed_at``) and repayments (by ``created_at``).
    """
    starts, since, before = month_window(months=months, until=until)
    paid_out = dict(
        Loan.objects.filter(disbursed_at__gte=since, disbursed_at__lt=before)
        .annotate(month=TruncMonth("disbursed_at"))
        .order_by()
        .values("month")
        .annotate(total=_sum("principal_amount"))
        .values_list("month", "total")
    )
    repaid = {
        row["month"]: row
        for row in Repayment.objects.filter(
            status=Repayment.Status.SUCCESS, created_at__gte=since, created_at__lt=before
        )
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month")
        .annotate(principal=_sum("principal_part"), interest=_sum("interest_part"))
    }
    paid_out = {month.date(): total for month, total in paid_out.items()}
    repaid = {month.date(): row for month, row in repaid.items()}
    return [
        MonthFlows(
            month=start,
            disbursed=paid_out.get(start, ZERO),
            repaid_principal=repaid.get(start, {}).get("principal", ZERO),
            repaid_interest=repaid.get(start, {}).get("interest", ZERO),
        )
        for start in starts
    ]


def loan_event_list_recent(*, limit: int = 10) -> list[LoanEvent]:
    """The latest audit-trail rows, newest first, with their loan, borrower and actor."""
    return list(LoanEvent.objects.select_related("loan__borrower", "actor").order_by("-pk")[:limit])
