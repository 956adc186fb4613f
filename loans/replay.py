"""The replay: what a loan's installments and repayments are, from its standing events.

A loan's servicing state — each installment's paid parts, its late fee (charged when,
how much), waived fee and ``paid_on``, each standing repayment's allocation, what the
loan owes — is a function of:

- its schedule (due dates, scheduled principal and interest) and its product's rules;
- its standing money events (repayments not reversed, fee waivers), in value-date order,
  then in the order they were made (their journal entries' ids);
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

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from loans.allocation import Owed, Share, allocate
from loans.close_of_business import late_fee_is_due, late_fee_price

ZERO = Decimal("0.00")
ONE_DAY = timedelta(days=1)


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

    @property
    def fee_due(self) -> Decimal:
        return self.fee_charged - self.fee_paid - self.fee_waived

    @property
    def unpaid_scheduled(self) -> Decimal:
        """Principal and interest still unpaid (what a late fee is priced on)."""
        return self.principal - self.principal_paid + self.interest - self.interest_paid

    @property
    def unpaid(self) -> Decimal:
        return self.unpaid_scheduled + self.fee_due

    def as_tuple(self) -> tuple:
        """Everything the replay decides about the installment (for comparisons)."""
        return (
            self.number,
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
) -> Replayed:
    """Service a loan from its disbursement: ``schedule`` (fresh, nothing paid) and the
    standing ``events``, with every day up to ``closed_through`` closed.

    Raises ``ReplayConflictError`` when an event cannot stand (see its docstring).
    """
    state = Replayed(
        installments={
            i.number: InstallmentState(i.number, i.due_date, i.principal, i.interest)
            for i in schedule
        }
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
            if isinstance(event, Payment):
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
