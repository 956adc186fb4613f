"""The replay: what a loan's installments and repayments are, from its standing events.

A loan's servicing state — each installment's paid parts, its late fee (charged when,
how much), waived fee and ``paid_on``, each standing repayment's allocation, what the
loan owes — is a function of:

- its schedule (due dates, scheduled principal and interest) and its product's rules;
- its standing money events (repayments not reversed, fee waivers), in value-date order,
  then in the order they were made (their journal entries' ids). A repayment is applied
  as it was made: an ordinary one by the allocation order; a prepayment by
  ``loans.prepayment`` (which also recomputes the schedule after it); a foreclosure by
  ``loans.payoff`` (which waives the interest not yet accrued);
- the days closed for it (``Loan.closed_through``).

``replay`` computes that function with the live rules, not copies of them: allocation
is ``loans.allocation.allocate`` with the product's orders (the non-performing order
when the loan's days past due on the payment's value date reach ``npa_days``, as
``loans.services._allocation_order`` decides), and late fees follow
``loans.close_of_business.late_fee_is_due`` and ``late_fee_price``, the Python form of
the close's SQL (a property test evaluates both on the same inputs, and the replay
property test compares a reversed loan with a loan serviced from scratch by the
close's SQL).

The days of a loan's life, in order: on each day, that day's events (payments and
waivers dated that day, in the order they were made), then the close of the day (a late
fee for each installment past its grace days and still unpaid), for the days closed.

Pure: no database. ``loans.reversals`` reads the events, calls ``replay`` and writes the
differences, with the ledger entries that move the books to match.
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from loans.allocation import Owed, Share, allocate
from loans.close_of_business import late_fee_is_due, late_fee_price
from loans.exceptions import PayoffError
from loans.payoff import payoff_lines, payoff_quote
from loans.prepayment import REDUCE_EMI, REDUCE_TENURE, LoanTerms, prepayment_plan

ZERO = Decimal("0.00")
ONE_DAY = timedelta(days=1)
ORDINARY, FORECLOSURE = "ORDINARY", "FORECLOSURE"


class ReplayConflictError(Exception):
    """The standing events cannot all stand without the reversed one (``event`` names
    the one that cannot): a waiver of more fee than would be due, or a payment of more
    than would be owed."""

    def __init__(self, message: str, *, event):
        super().__init__(message)
        self.event = event


@dataclass
class InstallmentState:
    """One installment: its schedule (fixed) and what has been paid, charged and waived."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    fee_charged: Decimal = ZERO
    fee_charged_on: date | None = None
    fee_paid: Decimal = ZERO
    fee_waived: Decimal = ZERO
    paid_on: date | None = None
    interest_waived: Decimal = ZERO

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid

    @property
    def fee_due(self) -> Decimal:
        return self.fee_charged - self.fee_paid - self.fee_waived

    @property
    def interest_due(self) -> Decimal:
        return self.interest - self.interest_paid - self.interest_waived

    @property
    def principal_due(self) -> Decimal:
        return self.principal - self.principal_paid

    @property
    def unpaid_scheduled(self) -> Decimal:
        """Principal and interest still unpaid (what a late fee is priced on)."""
        return self.principal_due + self.interest_due

    @property
    def unpaid(self) -> Decimal:
        return self.unpaid_scheduled + self.fee_due

    def as_tuple(self) -> tuple:
        """Everything the replay decides about the installment (for comparisons)."""
        return (
            self.number,
            self.due_date,
            self.principal,
            self.interest,
            self.interest_waived,
            self.principal_paid,
            self.interest_paid,
            self.fee_charged,
            self.fee_charged_on,
            self.fee_paid,
            self.fee_waived,
            self.paid_on,
        )


@dataclass(frozen=True)
class Payment:
    """A standing repayment: ``key`` identifies it (its id); ``seq`` orders a day's events."""

    key: int
    value_date: date
    amount: Decimal
    seq: int
    purpose: str = ORDINARY  # or REDUCE_EMI, REDUCE_TENURE, FORECLOSURE


@dataclass(frozen=True)
class Waiver:
    """A fee waiver on installment ``number``."""

    key: int
    value_date: date
    number: int
    amount: Decimal
    seq: int


@dataclass(frozen=True)
class Rules:
    """The product's servicing rules the replay applies (``LoanProduct`` fields)."""

    grace_days: int
    late_fee_kind: str
    late_fee_value: Decimal
    late_fee_min: Decimal | None
    late_fee_max: Decimal | None
    allocation_order: str
    npa_days: int
    npa_allocation_order: str

    @classmethod
    def of(cls, product) -> "Rules":
        return cls(**{name: getattr(product, name) for name in cls.__dataclass_fields__})


@dataclass
class Replayed:
    """The outcome: installments by number, and each payment's shares by its key."""

    installments: dict[int, InstallmentState]
    shares: dict[int, list[Share]] = field(default_factory=dict)
    settled_by: int | None = None  # the payment after which nothing was owed
    emi: Decimal | None = None  # the EMI of the schedule the events leave
    waived: dict[int, Decimal] = field(default_factory=dict)  # by foreclosures, by key

    @property
    def outstanding(self) -> Decimal:
        return sum((i.unpaid for i in self.installments.values()), ZERO)

    def days_past_due(self, as_of: date) -> int:
        """As ``loans.close_of_business.DELINQUENCY_SQL`` counts them."""
        overdue = [
            i.due_date
            for i in self.installments.values()
            if i.paid_on is None and i.due_date < as_of
        ]
        return (as_of - min(overdue)).days if overdue else 0


def replay(
    *,
    rules: Rules,
    schedule: list[InstallmentState],
    events: list[Payment | Waiver],
    closed_through: date,
    terms: LoanTerms | None = None,
) -> Replayed:
    """Service a loan from its disbursement: ``schedule`` (the schedule at disbursement,
    nothing paid) and the standing ``events``, with every day up to ``closed_through``
    closed. ``terms`` (the loan's rate, method, EMI at disbursement) are needed when the
    events hold a prepayment or a foreclosure.

    Raises ``ReplayConflictError`` when an event cannot stand (see its docstring).
    """
    state = Replayed(
        installments={
            i.number: InstallmentState(i.number, i.due_date, i.principal, i.interest)
            for i in schedule
        },
        emi=terms.emi_amount if terms else None,
    )
    ordered = sorted(events, key=lambda e: (e.value_date, e.seq))
    # The days on which something can happen: an event, or an installment's fee falling
    # due (the close of due date + grace days; a later close can only charge an
    # installment unpaid then, and one unpaid then is charged then).
    fee_days = {
        i.due_date + timedelta(days=rules.grace_days)
        for i in state.installments.values()
        if i.due_date + timedelta(days=rules.grace_days) <= closed_through
    }
    days = sorted(fee_days | {e.value_date for e in ordered})
    by_day: dict[date, list] = {}
    for event in ordered:
        by_day.setdefault(event.value_date, []).append(event)
    for day in days:
        for event in by_day.get(day, ()):
            if isinstance(event, Payment) and event.purpose in (REDUCE_EMI, REDUCE_TENURE):
                _prepay(state, _terms(terms, event), event)
            elif isinstance(event, Payment) and event.purpose == FORECLOSURE:
                _foreclose(state, _terms(terms, event), event)
            elif isinstance(event, Payment):
                _pay(state, rules, event)
            else:
                _waive(state, event)
        if day <= closed_through:
            _close(state, rules, day)
    return state


def _pay(state: Replayed, rules: Rules, payment: Payment) -> None:
    """``loans.services.loan_repay``'s allocation, on the replayed installments."""
    npa = state.days_past_due(payment.value_date) >= rules.npa_days
    order = rules.npa_allocation_order if npa else rules.allocation_order
    unpaid = [i for _, i in sorted(state.installments.items()) if i.paid_on is None]
    if payment.amount > sum((i.unpaid for i in unpaid), ZERO):
        raise ReplayConflictError(
            f"Repayment {payment.key} of {payment.amount} would be more than the loan owed "
            f"on {payment.value_date.isoformat()}.",
            event=payment,
        )
    shares = allocate(
        amount=payment.amount,
        owed=[
            Owed(
                number=i.number,
                fee=i.fee_due,
                interest=i.interest - i.interest_paid,
                principal=i.principal - i.principal_paid,
            )
            for i in unpaid
        ],
        order=order,
    )
    for share in shares:
        installment = state.installments[share.number]
        installment.fee_paid += share.fee
        installment.interest_paid += share.interest
        installment.principal_paid += share.principal
        if installment.unpaid == 0:
            installment.paid_on = payment.value_date
    state.shares[payment.key] = shares
    if state.outstanding == 0:
        state.settled_by = payment.key


def _terms(terms: LoanTerms | None, payment: Payment) -> LoanTerms:
    if terms is None:
        raise ValueError(f"replaying repayment {payment.key} ({payment.purpose}) needs the terms")
    return terms


def _apply(state: Replayed, payment: Payment, shares: list[Share]) -> None:
    """Record ``payment``'s shares on the installments, as ``_repayment_post`` does."""
    for share in shares:
        installment = state.installments[share.number]
        installment.fee_paid += share.fee
        installment.interest_paid += share.interest
        installment.principal_paid += share.principal
    state.shares[payment.key] = shares


def _settle(state: Replayed, day: date) -> None:
    """``paid_on``: the day an installment has nothing left unpaid; none while it has."""
    for installment in state.installments.values():
        if installment.unpaid == 0 and installment.paid_on is None:
            installment.paid_on = day
        elif installment.unpaid > 0:
            installment.paid_on = None


def _prepay(state: Replayed, terms: LoanTerms, payment: Payment) -> None:
    """``loans.services._prepay``: the plan of ``loans.prepayment``, then its schedule."""
    try:
        plan = prepayment_plan(
            terms=replace(terms, emi_amount=state.emi),
            rows=list(state.installments.values()),
            amount=payment.amount,
            kind=payment.purpose,
            today=payment.value_date,
        )
    except PayoffError as exc:
        raise ReplayConflictError(
            f"Prepayment {payment.key} of {payment.amount} on "
            f"{payment.value_date.isoformat()} could not be made: {exc.message}",
            event=payment,
        ) from exc
    state.installments[plan.first].principal += plan.extra
    _apply(state, payment, plan.shares)
    planned = {row.number: row for row in plan.planned}
    for number in [n for n in state.installments if n not in planned]:
        del state.installments[number]  # dropped (REDUCE_TENURE): nothing was paid on it
    for row in plan.planned:
        installment = state.installments[row.number]
        installment.principal, installment.interest = row.principal, row.interest
    _settle(state, payment.value_date)
    state.emi = plan.emi


def _foreclose(state: Replayed, terms: LoanTerms, payment: Payment) -> None:
    """``loans.services.loan_foreclose``: pays exactly the payoff total of its day."""
    lines = payoff_lines(
        installments=state.installments.values(),
        disbursed_on=terms.disbursed_on,
        as_of=payment.value_date,
    )
    total = payoff_quote(loan_id=terms.loan_id, as_of=payment.value_date, lines=lines).total
    if payment.amount != total:
        raise ReplayConflictError(
            f"Foreclosure {payment.key} paid {payment.amount} on "
            f"{payment.value_date.isoformat()}, which would no longer be the payoff total "
            f"{total}: reverse the foreclosure first.",
            event=payment,
        )
    shares = [
        Share(
            line.number,
            fee=line.fee,
            interest=line.interest - line.credit,
            principal=line.principal,
        )
        for line in lines
        if line.fee or line.principal or line.interest != line.credit
    ]
    _apply(state, payment, shares)
    for line in lines:
        state.installments[line.number].interest_waived += line.interest_waived
    state.waived[payment.key] = sum((line.interest_waived for line in lines), ZERO)
    _settle(state, payment.value_date)
    if state.outstanding == 0:
        state.settled_by = payment.key


def _waive(state: Replayed, waiver: Waiver) -> None:
    """``loans.services.loan_fee_waive``, on the replayed installments."""
    installment = state.installments[waiver.number]
    if waiver.amount > installment.fee_due:
        raise ReplayConflictError(
            f"Fee waiver {waiver.key} of {waiver.amount} on installment #{waiver.number} "
            f"would be more than its unpaid fee {installment.fee_due}.",
            event=waiver,
        )
    installment.fee_waived += waiver.amount
    if installment.unpaid == 0:
        installment.paid_on = waiver.value_date


def _close(state: Replayed, rules: Rules, day: date) -> None:
    """The close of ``day``'s late fees (``CHARGE_FEES_SQL``), on the replayed installments."""
    as_of = day + ONE_DAY
    for installment in state.installments.values():
        if (
            installment.paid_on is None
            and installment.fee_charged_on is None
            and late_fee_is_due(
                due_date=installment.due_date, as_of=as_of, grace_days=rules.grace_days
            )
        ):
            fee = late_fee_price(product=rules, unpaid=installment.unpaid_scheduled)
            if fee > 0:
                installment.fee_charged, installment.fee_charged_on = fee, day
