from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, TruncMonth

from accounts.models import User
from ledger.models import JournalEntry
from ledger.references import late_fee_reference, write_off_reference
from ledger.selectors import business_date_get, entry_list, entry_postings_by_account
from lendingsite.months import month_window
from loans.exceptions import (
    LoanNotFoundError,
    LoanStateError,
    PayoffError,
    ScheduleVersionNotFoundError,
)
from loans.models import (
    FeeWaiver,
    Installment,
    Loan,
    LoanEvent,
    LoanProduct,
    OfficerActionRequest,
    Repayment,
    ScheduleVersion,
    ScheduleVersionRow,
)
from loans.payoff import PayoffQuote, payoff_lines, payoff_quote

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
PENDING_STATUSES = (Loan.Status.APPLIED, Loan.Status.APPROVED)  # waiting for an officer
# Reached by disbursement only.
DISBURSED_STATUSES = (Loan.Status.ACTIVE, Loan.Status.CLOSED, Loan.Status.WRITTEN_OFF)


def loan_get_visible(*, loan_id: int, user: User) -> Loan:
    """A loan its owner or any officer may see; anyone else gets 'not found'."""
    loans = Loan.objects.select_related("product")
    if not user.is_officer:
        loans = loans.filter(borrower=user)
    try:
        return loans.get(pk=loan_id)
    except Loan.DoesNotExist as exc:
        raise LoanNotFoundError(f"Loan {loan_id} was not found.") from exc


def loan_list_for_borrower(*, borrower: User) -> QuerySet[Loan]:
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


def bucket_codes(products: Iterable[LoanProduct]) -> list[str]:
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


def loan_positions(*, loan_ids: Iterable[int], as_of: date) -> dict[int, LoanPosition]:
    """The positions of loans on ``as_of``, from their unpaid installments: one query."""
    unpaid = Installment.objects.filter(loan_id__in=loan_ids, paid_on__isnull=True)
    found: dict[int, dict[str, Any]] = {}
    for installment in unpaid.order_by("loan_id", "number"):
        position = found.setdefault(installment.loan_id, {"overdue_amount": ZERO, "fees_due": ZERO})
        position["fees_due"] += installment.fee_due
        if installment.due_date < as_of:
            position["overdue_amount"] += installment.unpaid
        elif "next_due_date" not in position:
            position["next_due_date"] = installment.due_date
            position["next_due_amount"] = installment.unpaid
    return {loan_id: LoanPosition(**fields) for loan_id, fields in found.items()}


# In SQL, what ``Installment.fee_due`` and ``Installment.unpaid`` say in Python.
FEE_DUE = F("fee_charged") - F("fee_paid") - F("fee_waived")
UNPAID = (
    F("principal")
    - F("principal_paid")
    + F("interest")
    - F("interest_paid")
    - F("interest_waived")
    + FEE_DUE
)


def _total_per_loan(installments: QuerySet[Installment], amount: Combinable) -> Coalesce:
    """A subquery: the sum of ``amount`` over ``installments`` of the outer loan."""
    total = installments.order_by().values("loan_id").annotate(total=Sum(amount)).values("total")
    return Coalesce(Subquery(total), Value(ZERO), output_field=MONEY)


def loan_list_overdue(*, as_of: date) -> QuerySet[Loan]:
    """The collections queue: active loans past due, longest overdue first.

    Each loan comes with its borrower and product, ``overdue_amount`` (what is unpaid,
    fees included, of its installments due before ``as_of``, as ``loan_positions``
    reckons it) and ``fees_due`` (its unpaid late fees). The amounts are subqueries,
    run only for the rows fetched: a page of the queue is one query.
    """
    unpaid = Installment.objects.filter(loan_id=OuterRef("pk"), paid_on__isnull=True)
    return (
        Loan.objects.filter(status=Loan.Status.ACTIVE, days_past_due__gt=0)
        .select_related("borrower", "product")
        .annotate(
            overdue_amount=_total_per_loan(unpaid.filter(due_date__lt=as_of), UNPAID),
            fees_due=_total_per_loan(unpaid, FEE_DUE),
        )
        .order_by("-days_past_due", "pk")
    )


def installment_status(installment: Installment, *, as_of: date) -> str:
    """PAID, OVERDUE (due before ``as_of`` and not fully paid, fees included) or PENDING."""
    if installment.paid_on is not None:
        return "PAID"
    return "OVERDUE" if installment.due_date < as_of else "PENDING"


def installment_list(*, loan: Loan) -> QuerySet[Installment]:
    return loan.installments.order_by("number")


def loan_payoff_quote(
    *, loan: Loan, as_of: date, installments: Iterable[Installment] | None = None
) -> PayoffQuote:
    """What paying ``loan`` off on ``as_of`` costs (the rule: ``loans.payoff``).

    A loan that is not ACTIVE owes nothing to pay off: its quote is all zeros. The
    caller checks ``as_of`` (the API: not before the business date, at most 90 days
    after it). ``installments``: the loan's, when the caller has read them already.
    """
    if loan.status != Loan.Status.ACTIVE or loan.disbursed_on is None:
        return payoff_quote(loan_id=loan.pk, as_of=as_of, lines=[])
    if installments is None:
        installments = loan.installments.all()
    lines = payoff_lines(installments=installments, disbursed_on=loan.disbursed_on, as_of=as_of)
    return payoff_quote(loan_id=loan.pk, as_of=as_of, lines=lines)


PAYOFF_QUOTE_MAX_DAYS = 90  # how far ahead a payoff can be quoted


def payoff_quote_get(*, loan: Loan, as_of: date | None = None) -> PayoffQuote:
    """The payoff quote a borrower or an officer asks for (``GET /api/loans/{id}/payoff``).

    ``as_of`` defaults to the business date; before it, or more than
    ``PAYOFF_QUOTE_MAX_DAYS`` after it, is refused (400). Only an ACTIVE loan can be
    paid off (409 otherwise).
    """
    today = business_date_get()
    as_of = as_of or today
    if not today <= as_of <= today + timedelta(days=PAYOFF_QUOTE_MAX_DAYS):
        latest = (today + timedelta(days=PAYOFF_QUOTE_MAX_DAYS)).isoformat()
        raise PayoffError(
            f"date: a payoff is quoted from the business date {today.isoformat()} "
            f"to {latest} ({PAYOFF_QUOTE_MAX_DAYS} days ahead).",
            code="payoff_date_out_of_range",
            extra={"date": [f"Ensure this date is between {today.isoformat()} and {latest}."]},
        )
    if loan.status != Loan.Status.ACTIVE:
        raise LoanStateError(
            f"Loan {loan.pk} is {loan.status}; only ACTIVE loans have a payoff to quote."
        )
    return loan_payoff_quote(loan=loan, as_of=as_of)


def schedule_version_list(*, loan: Loan) -> QuerySet[ScheduleVersion]:
    """A loan's schedule versions, oldest first, each with its number of installments."""
    return (
        loan.schedule_versions.select_related("repayment")
        .annotate(installment_count=Count("rows"))
        .order_by("number")
    )


def schedule_version_rows(*, loan: Loan, number: int) -> QuerySet[ScheduleVersionRow]:
    """The installments of version ``number`` of a loan's schedule; 404 when unknown."""
    version = loan.schedule_versions.filter(number=number).first()
    if version is None:
        raise ScheduleVersionNotFoundError(
            f"Loan {loan.pk} has no schedule version {number}.", code="no_such_version"
        )
    return version.rows.order_by("number")


def repayment_list(*, loan: Loan) -> QuerySet[Repayment]:
    return loan.repayments.order_by("-created_at", "-pk")


def _loan_entry_ids(loan: Loan) -> tuple[list[int], list[str]]:
    """The ids and references of every journal entry of the loan."""
    repayments = loan.repayments.values_list(
        "entry_id", "reversal_entry_id", "reallocation_entry_id"
    )
    entry_ids = [
        loan.disbursement_entry_id,
        *(pk for row in repayments for pk in row),
        *FeeWaiver.objects.filter(installment__loan=loan).values_list("entry_id", flat=True),
        *loan.recoveries.values_list("entry_id", flat=True),
    ]
    # Every installment's: a fee the close charged stays in the books even when a
    # re-allocation after a reversal took it back (in the REALLOCATION entry).
    installments = loan.installments.values_list("pk", flat=True)
    return (
        [pk for pk in entry_ids if pk is not None],
        [
            *(late_fee_reference(installment_id=pk) for pk in installments),
            write_off_reference(loan_id=loan.pk),
        ],
    )


def loan_entry_list(*, loan: Loan) -> list[JournalEntry]:
    """A loan's journal entries, oldest first: disbursement, repayments, their reversals and
    re-allocations, late fees, waivers, its write-off and recoveries."""
    entry_ids, references = _loan_entry_ids(loan)
    return list(entry_list(entry_ids=entry_ids, references=references))


def loan_ledger_share(*, loan: Loan) -> dict[str, Decimal]:
    """The loan's share of each ledger account: the sum of the postings of its entries,
    by account code (the borrower's wallet appears as ``wallet:<user id>``)."""
    entry_ids, references = _loan_entry_ids(loan)
    return entry_postings_by_account(entry_ids=entry_ids, references=references)


def installment_list_fee_due(*, loan_id: int) -> QuerySet[Installment]:
    """A loan's installments with a late fee neither paid nor waived, oldest first."""
    return (
        Installment.objects.filter(loan_id=loan_id, paid_on__isnull=True)
        .alias(unpaid_fee=FEE_DUE)
        .filter(unpaid_fee__gt=0)
        .order_by("number")
    )


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


def _sum(field: str | Combinable, **extra: Any) -> Coalesce:
    """The sum of a field or an expression, 0.00 over no rows."""
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
    disbursed: Decimal  # principal ever paid out (loans now ACTIVE, CLOSED or WRITTEN_OFF)
    collected_principal: Decimal
    collected_interest: Decimal
    written_off_principal: Decimal = ZERO  # unpaid principal of the loans written off
    written_off: Decimal = ZERO  # what those loans owed when written off, interest and fees too
    recovered: Decimal = ZERO  # paid since on written-off loans (recovery income)

    @property
    def outstanding_principal(self) -> Decimal:
        """Principal paid out, not repaid and not written off."""
        return self.disbursed - self.collected_principal - self.written_off_principal

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
    rows: dict[str, Mapping[str, Any]] = {
        row["status"]: row
        for row in Loan.objects.order_by()
        .values("status")
        .annotate(
            count=Count("pk"),
            principal=_sum("principal_amount"),
            outstanding=_sum("outstanding_amount"),
            written_off=_sum("written_off_amount"),
            recovered=_sum("recovered_amount"),
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
        principal=_sum("principal_part"),
        interest=_sum("interest_part"),
        principal_before_write_off=_sum(
            "principal_part", filter=Q(loan__status=Loan.Status.WRITTEN_OFF)
        ),
    )
    written_off = rows.get(Loan.Status.WRITTEN_OFF, {})
    return PortfolioSummary(
        by_status=by_status,
        disbursed=sum(
            (row.principal for row in by_status if row.status in DISBURSED_STATUSES), ZERO
        ),
        collected_principal=collected["principal"],
        collected_interest=collected["interest"],
        # A written-off loan's unpaid principal: what was lent less what was repaid first.
        written_off_principal=written_off.get("principal", ZERO)
        - collected["principal_before_write_off"],
        written_off=written_off.get("written_off", ZERO),
        recovered=written_off.get("recovered", ZERO),
    )


# Portfolio at risk: PAR n is the share of the active loans' outstanding principal
# owed on loans more than n days past due.
PAR_DAYS = (1, 30, 60, 90)
HUNDRED = Decimal(100)


def percent_of(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` as a percentage of ``whole``, half-up to two places; 0.00 of nothing."""
    if not whole:
        return ZERO
    return (part * HUNDRED / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AtRisk:
    days: int  # loans more than this many days past due
    count: int
    principal: Decimal  # their outstanding principal
    percent: Decimal  # of the outstanding principal of all active loans, 2 places


@dataclass(frozen=True)
class BucketFigures:
    bucket: str
    count: int
    principal: Decimal  # outstanding principal
    percent: Decimal  # of the outstanding principal of all active loans, 2 places


@dataclass(frozen=True)
class PortfolioRisk:
    active_count: int
    active_principal: Decimal  # outstanding principal of the active loans
    overdue_count: int  # active loans at least a day past due
    at_risk: list[AtRisk]  # one per PAR_DAYS, in order
    aging: list[BucketFigures]  # buckets holding active loans, by days past due


def loan_portfolio_risk(*, par_days: tuple[int, ...] = PAR_DAYS) -> PortfolioRisk:
    """Portfolio at risk and the aging of the active loans by delinquency bucket.

    A loan's outstanding principal is the sum of its installments' unpaid principal;
    days past due and bucket are the loan's, as the close of business left them. One
    query, over the active loans' installments grouped by bucket.
    """
    unpaid = F("principal") - F("principal_paid")
    # Names other than the installment's fields ("principal"), which they would shadow.
    figures = {
        "loans": Count("loan", distinct=True),
        "left": _sum(unpaid),
        "first_day": Min("loan__days_past_due"),
        "overdue": Count("loan", distinct=True, filter=Q(loan__days_past_due__gt=0)),
    }
    for days in par_days:
        late = Q(loan__days_past_due__gt=days)
        figures[f"loans_{days}"] = Count("loan", distinct=True, filter=late)
        figures[f"left_{days}"] = _sum(unpaid, filter=late)
    rows: list[Mapping[str, Any]] = list(
        Installment.objects.filter(loan__status=Loan.Status.ACTIVE)
        .order_by()
        .values("loan__delinquency_bucket")
        .annotate(**figures)
    )
    total = sum((row["left"] for row in rows), ZERO)
    at_risk = []
    for days in par_days:
        principal = sum((row[f"left_{days}"] for row in rows), ZERO)
        at_risk.append(
            AtRisk(
                days=days,
                count=sum(row[f"loans_{days}"] for row in rows),
                principal=principal,
                percent=percent_of(principal, total),
            )
        )
    rows.sort(key=lambda row: (row["first_day"], row["loan__delinquency_bucket"]))
    return PortfolioRisk(
        active_count=sum(row["loans"] for row in rows),
        active_principal=total,
        overdue_count=sum(row["overdue"] for row in rows),
        at_risk=at_risk,
        aging=[
            BucketFigures(
                bucket=row["loan__delinquency_bucket"],
                count=row["loans"],
                principal=row["left"],
                percent=percent_of(row["left"], total),
            )
            for row in rows
        ],
    )


@dataclass(frozen=True)
class MonthFlows:
    month: date  # the first day of the month
    disbursed: Decimal
    repaid_principal: Decimal
    repaid_interest: Decimal
    repaid_fees: Decimal = ZERO

    @property
    def repaid(self) -> Decimal:
        """Everything collected: principal, interest and late fees."""
        return self.repaid_principal + self.repaid_interest + self.repaid_fees


def loan_flows_by_month(*, months: int = 12, until: date | None = None) -> list[MonthFlows]:
    """Total the money paid out and repaid in each of the last ``months`` months, oldest first.

    Repayments are split into principal, interest and late fees. Months are calendar
    months in the site's time zone; an empty month totals zero. Two queries:
    disbursements (by ``disbursed_at``) and repayments (by ``created_at``).
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
    repaid: dict[Any, Mapping[str, Any]] = {
        row["month"]: row
        for row in Repayment.objects.filter(
            status=Repayment.Status.SUCCESS, created_at__gte=since, created_at__lt=before
        )
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month")
        .annotate(
            principal=_sum("principal_part"),
            interest=_sum("interest_part"),
            fees=_sum("fee_part"),
        )
    }
    paid_out = {month.date(): total for month, total in paid_out.items()}
    repaid = {month.date(): row for month, row in repaid.items()}
    return [
        MonthFlows(
            month=start,
            disbursed=paid_out.get(start, ZERO),
            repaid_principal=repaid.get(start, {}).get("principal", ZERO),
            repaid_interest=repaid.get(start, {}).get("interest", ZERO),
            repaid_fees=repaid.get(start, {}).get("fees", ZERO),
        )
        for start in starts
    ]


def loan_event_list_recent(*, limit: int = 10) -> list[LoanEvent]:
    """The latest audit-trail rows, newest first, with their loan, borrower and actor."""
    return list(LoanEvent.objects.select_related("loan__borrower", "actor").order_by("-pk")[:limit])


def repayment_describe_by_entry(entry_ids: Iterable[int]) -> dict[int, dict[str, object]]:
    """The standing repayments among journal entries, described for an officer: the
    wallet's "what spent this deposit" (registered with ``wallets`` by ``loans.apps``)."""
    rows = Repayment.objects.filter(
        entry_id__in=list(entry_ids), status=Repayment.Status.SUCCESS
    ).values_list("entry_id", "pk", "loan_id", "amount", "value_date")
    return {
        entry_id: {
            "repayment_id": pk,
            "loan_id": loan_id,
            "amount": f"{amount:.2f}",
            "value_date": value_date.isoformat(),
        }
        for entry_id, pk, loan_id, amount, value_date in rows
    }


def action_request_list_pending(*, loan: Loan) -> list[OfficerActionRequest]:
    """The loan's officer actions waiting for a second officer, oldest first."""
    return list(
        loan.action_requests.filter(status=OfficerActionRequest.Status.PENDING)
        .select_related("requested_by")
        .order_by("pk")
    )
