"""A loan's statement: what it owed, what happened to it in a period, what it owes now.

``loan_statement`` builds it as plain data; the API serializes that data as JSON
(``loans.api.serializers.LoanStatementOutputSerializer``) and ``loans.statement_pdf``
lays the same data out as a PDF, so the two cannot show different figures.

Every line is an event that changed what the loan owes (its ``outstanding_amount``),
with the balance it left. The events come from **line sources**, one function per kind
of event, each reading its rows in one query: a new kind of event is one more function
in ``LINE_SOURCES``. What each line means: docs/STATEMENTS.md.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from itertools import chain, pairwise

from django.db.models import Count

from ledger.references import disbursement_reference, late_fee_reference
from ledger.selectors import business_date_get
from lendingsite.db import read_snapshot
from lendingsite.money import format_inr
from lendingsite.statements import Period, statement_period
from loans.exceptions import LoanStateError
from loans.models import (
    FeeWaiver,
    Installment,
    Loan,
    LoanRecovery,
    LoanWriteOff,
    Repayment,
    ScheduleVersion,
)
from loans.payoff import PayoffQuote
from loans.selectors import installment_status, loan_payoff_quote

ZERO = Decimal("0.00")


class LineKind:
    DISBURSEMENT = "DISBURSEMENT"
    REPAYMENT = "REPAYMENT"
    LATE_FEE = "LATE_FEE"
    FEE_WAIVER = "FEE_WAIVER"
    REVERSAL = "REVERSAL"
    INTEREST_WAIVED = "INTEREST_WAIVED"
    SCHEDULE_CHANGE = "SCHEDULE_CHANGE"
    WRITE_OFF = "WRITE_OFF"
    RECOVERY = "RECOVERY"


# Events of a business day come in the order they were posted (journal entry ids), and
# the close of that day (late fees, then a write-off at the product's threshold) after
# all of them. An event without an entry of its own takes LAST in its part of the day.
DURING_THE_DAY, AT_THE_CLOSE = 0, 1
LAST = 2**62
AFTER = 1

PURPOSE_DESCRIPTIONS = {
    Repayment.Purpose.ORDINARY: "Repayment from the wallet",
    Repayment.Purpose.REDUCE_EMI: "Prepayment from the wallet, reducing the EMI",
    Repayment.Purpose.REDUCE_TENURE: "Prepayment from the wallet, reducing the tenure",
    Repayment.Purpose.FORECLOSURE: "Foreclosure: paid off from the wallet",
}


@dataclass(frozen=True)
class LoanEventLine:
    """One event as a line source gives it: what it did to what the loan owes."""

    on: date  # its value date (a business date)
    # Its place in the day: (DURING_THE_DAY or AT_THE_CLOSE, sequence[, after]); a line
    # that follows from another (a schedule recomputed by a prepayment) adds ``AFTER``.
    when: tuple[int, ...]
    kind: str
    description: str
    reference: str  # the journal entry's reference
    debit: Decimal = ZERO  # adds to what the loan owes
    credit: Decimal = ZERO  # takes off what the loan owes
    fees: Decimal = ZERO  # the line's late fees
    interest: Decimal = ZERO  # the line's interest
    principal: Decimal = ZERO  # the line's principal
    recovered: Decimal = ZERO  # paid on a written-off loan (what it owes stays 0)
    # A write-off: it takes off all the loan owed (its credit is the balance before it,
    # its interest what the balance held besides ``principal`` and ``fees``).
    clears_balance: bool = False


@dataclass(frozen=True)
class StatementLine:
    on: date
    kind: str
    description: str
    reference: str
    debit: Decimal
    credit: Decimal
    fees: Decimal
    interest: Decimal
    principal: Decimal
    recovered: Decimal
    balance: Decimal  # what the loan owed after this line


@dataclass(frozen=True)
class ScheduleRow:
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    total: Decimal
    fee_charged: Decimal
    paid: Decimal  # principal and interest paid
    fee_paid: Decimal
    fee_waived: Decimal
    unpaid: Decimal  # principal, interest and fee still owed
    paid_on: date | None
    status: str  # PAID, OVERDUE or PENDING on the business date


@dataclass(frozen=True)
class Totals:
    debit: Decimal  # everything the period's lines added to what the loan owes
    credit: Decimal  # and everything they took off
    recovered: Decimal  # paid on the written-off loan in the period


@dataclass(frozen=True)
class LoanStatement:
    loan_id: int
    borrower_name: str
    borrower_email: str
    product_code: str
    product_name: str
    status: str
    principal_amount: Decimal
    interest_rate: Decimal
    interest_method: str
    tenure_months: int
    emi_amount: Decimal
    total_interest: Decimal
    disbursed_on: date
    business_date: date
    days_past_due: int
    delinquency_bucket: str
    period: Period
    opening_balance: Decimal
    lines: list[StatementLine]
    totals: Totals
    closing_balance: Decimal
    schedule: list[ScheduleRow]
    written_off_amount: Decimal  # what it owed when written off (0: never written off)
    recovered_amount: Decimal  # paid since the write-off, up to the business date
    payoff: PayoffQuote | None  # paying it off on the business date (ACTIVE loans only)


LineSource = Callable[[Loan, list[Installment]], Iterable[LoanEventLine]]


def _schedule_versions(loan: Loan) -> list:
    return list(
        ScheduleVersion.objects.filter(loan=loan)
        .annotate(installments=Count("rows"))
        .order_by("number")
        .values(
            "number",
            "reason",
            "business_date",
            "emi_amount",
            "total_interest",
            "installments",
            "repayment__entry_id",
        )
    )


def _disbursement_and_schedule_changes(
    loan: Loan, installments: list[Installment]
) -> Iterable[LoanEventLine]:
    """The principal paid out and the interest scheduled at disbursement; then each
    schedule recomputed since (a prepayment's), with the interest it no longer
    schedules (a credit) or schedules again (a debit).

    The interest scheduled at disbursement is the first schedule version's; a loan with
    no versions has never been rescheduled, and its interest is the loan's own.
    """
    versions = _schedule_versions(loan)
    if versions and versions[0]["reason"] == ScheduleVersion.Reason.DISBURSEMENT:
        interest = versions[0]["total_interest"]
    else:
        interest, versions = loan.total_interest, []
    yield LoanEventLine(
        on=loan.disbursed_on,
        when=(DURING_THE_DAY, loan.disbursement_entry_id),
        kind=LineKind.DISBURSEMENT,
        description="Disbursement and scheduled interest",
        reference=disbursement_reference(loan_id=loan.pk),
        debit=loan.principal_amount + interest,
        interest=interest,
        principal=loan.principal_amount,
    )
    for before, after in pairwise(versions):
        change = after["total_interest"] - before["total_interest"]
        why = ScheduleVersion.Reason(after["reason"]).label
        yield LoanEventLine(
            on=after["business_date"],
            when=(DURING_THE_DAY, after["repayment__entry_id"] or LAST, AFTER),
            kind=LineKind.SCHEDULE_CHANGE,
            description=(
                f"Schedule recomputed (version {after['number']}, {why.lower()}): "
                f"EMI {format_inr(before['emi_amount'])} over {before['installments']} "
                f"installments → {format_inr(after['emi_amount'])} over "
                f"{after['installments']}; interest scheduled {format_inr(abs(change))} "
                f"{'more' if change > 0 else 'less'}"
            ),
            reference=f"schedule:{loan.pk}:v{after['number']}",
            debit=max(change, ZERO),
            credit=max(-change, ZERO),
            interest=abs(change),
        )


def _repayments(loan: Loan, installments: list[Installment]) -> Iterable[LoanEventLine]:
    """Each payment with its split as it stands (a reversal re-allocates the others);
    a foreclosure's waived interest right after it; a reversal on its own business
    date, adding back what the reversed payment had taken off, split as it was."""
    rows = (
        Repayment.objects.filter(loan=loan)
        .values(
            "pk",
            "value_date",
            "entry_id",
            "entry__reference",
            "amount",
            "fee_part",
            "interest_part",
            "principal_part",
            "purpose",
            "interest_waived",
            "reversed_on",
            "reversal_entry_id",
            "reversal_entry__reference",
            "reversal_reason",
        )
        .order_by("pk")
    )
    for row in rows:
        when = (DURING_THE_DAY, row["entry_id"])
        parts = {
            "fees": row["fee_part"],
            "interest": row["interest_part"],
            "principal": row["principal_part"],
        }
        description = PURPOSE_DESCRIPTIONS[row["purpose"]]
        if row["reversed_on"] is not None:
            description += f" (reversed on {row['reversed_on'].isoformat()})"
        yield LoanEventLine(
            on=row["value_date"],
            when=when,
            kind=LineKind.REPAYMENT,
            description=description,
            reference=row["entry__reference"],
            credit=row["amount"],
            **parts,
        )
        if row["interest_waived"]:
            yield LoanEventLine(
                on=row["value_date"],
                when=(*when, AFTER),
                kind=LineKind.INTEREST_WAIVED,
                description="Interest not yet accrued, waived at the foreclosure",
                reference=row["entry__reference"],
                credit=row["interest_waived"],
                interest=row["interest_waived"],
            )
        if row["reversed_on"] is not None:
            yield LoanEventLine(
                on=row["reversed_on"],
                when=(DURING_THE_DAY, row["reversal_entry_id"]),
                kind=LineKind.REVERSAL,
                description=(
                    f"Reversal of the repayment of {row['value_date'].isoformat()}: "
                    f"{row['reversal_reason']}"
                ),
                reference=row["reversal_entry__reference"],
                debit=row["amount"],
                **parts,
            )


def _late_fees(loan: Loan, installments: list[Installment]) -> Iterable[LoanEventLine]:
    """Charged by the close of business at the end of their day (no query of their own)."""
    for installment in installments:
        if installment.fee_charged:
            yield LoanEventLine(
                on=installment.fee_charged_on,
                when=(AT_THE_CLOSE, installment.number),
                kind=LineKind.LATE_FEE,
                description=f"Late fee on installment {installment.number}",
                reference=late_fee_reference(installment_id=installment.pk),
                debit=installment.fee_charged,
                fees=installment.fee_charged,
            )


def _fee_waivers(loan: Loan, installments: list[Installment]) -> Iterable[LoanEventLine]:
    rows = (
        FeeWaiver.objects.filter(installment__loan=loan)
        .values_list("value_date", "entry_id", "entry__reference", "installment__number", "amount")
        .order_by("pk")
    )
    for on, entry_id, reference, number, amount in rows:
        yield LoanEventLine(
            on=on,
            when=(DURING_THE_DAY, entry_id),
            kind=LineKind.FEE_WAIVER,
            description=f"Late fee waived on installment {number}",
            reference=reference,
            credit=amount,
            fees=amount,
        )


def _write_off(loan: Loan, installments: list[Installment]) -> Iterable[LoanEventLine]:
    """The write-off takes what the loan owes to 0: its unpaid principal and fees, the
    interest due, and the interest scheduled but not yet due, which is no longer
    charged. By the close of business: after that day's late fees."""
    record = LoanWriteOff.objects.filter(loan=loan).values(
        "value_date", "officer_id", "entry_id", "entry__reference", "amount", "principal", "fees"
    )
    for row in record:
        by_close = row["officer_id"] is None
        yield LoanEventLine(
            on=row["value_date"],
            when=(AT_THE_CLOSE if by_close else DURING_THE_DAY, row["entry_id"] or LAST),
            kind=LineKind.WRITE_OFF,
            description=(
                f"Written off{' by the close of business' if by_close else ''}: "
                f"{format_inr(row['amount'])} was owed (principal, interest due and fees); "
                "interest not yet due is no longer charged"
            ),
            reference=row["entry__reference"] or f"write-off:{loan.pk}",
            principal=row["principal"],
            fees=row["fees"],
            clears_balance=True,
        )


def _recoveries(loan: Loan, installments: list[Installment]) -> Iterable[LoanEventLine]:
    """Each recovery; a reversed one's reversal on its own date, taking it back."""
    rows = (
        LoanRecovery.objects.filter(loan=loan)
        .values(
            "value_date",
            "entry_id",
            "entry__reference",
            "amount",
            "reversed_on",
            "reversal_entry_id",
            "reversal_entry__reference",
            "reversal_reason",
        )
        .order_by("pk")
    )
    for row in rows:
        description = f"Recovery from the wallet: {format_inr(row['amount'])}"
        if row["reversed_on"] is not None:
            description += f" (reversed on {row['reversed_on'].isoformat()})"
        yield LoanEventLine(
            on=row["value_date"],
            when=(DURING_THE_DAY, row["entry_id"]),
            kind=LineKind.RECOVERY,
            description=description,
            reference=row["entry__reference"],
            recovered=row["amount"],
        )
        if row["reversed_on"] is not None:
            yield LoanEventLine(
                on=row["reversed_on"],
                when=(DURING_THE_DAY, row["reversal_entry_id"]),
                kind=LineKind.REVERSAL,
                description=(
                    f"Reversal of the recovery of {row['value_date'].isoformat()}: "
                    f"{format_inr(row['amount'])} back to the wallet; {row['reversal_reason']}"
                ),
                reference=row["reversal_entry__reference"],
                recovered=-row["amount"],
            )


LINE_SOURCES: tuple[LineSource, ...] = (
    _disbursement_and_schedule_changes,
    _repayments,
    _late_fees,
    _fee_waivers,
    _write_off,
    _recoveries,
)


def loan_statement(
    *, loan: Loan, since: date | None = None, until: date | None = None
) -> LoanStatement:
    """The statement of a disbursed loan for business dates ``since`` to ``until``.

    By default from the disbursement to the business date. The opening balance is what
    the loan owed at the end of the day before ``since``; each line's balance is what it
    owed after that line; the closing balance is what it owed at the end of ``until``
    (on the business date: its ``outstanding_amount``). Read in one snapshot (a payment
    made meanwhile is wholly in or wholly out), in a fixed number of queries whatever the
    number of lines: the loan, the business date, the installments, one per line source.

    Raises ``LoanStateError`` (409) for a loan never disbursed, ``StatementPeriodError``
    (400) for a period inverted or ending after the business date.
    """
    with read_snapshot():
        loan = Loan.objects.select_related("borrower", "product").get(pk=loan.pk)
        if loan.disbursed_on is None:
            raise LoanStateError(
                f"Loan {loan.pk} is {loan.status}: it has a statement once it is disbursed.",
                code="not_disbursed",
            )
        today = business_date_get()
        period = statement_period(since=since, until=until, opens=loan.disbursed_on, today=today)
        installments = list(Installment.objects.filter(loan=loan).order_by("number"))
        events = sorted(
            chain.from_iterable(source(loan, installments) for source in LINE_SOURCES),
            key=lambda event: (event.on, event.when),
        )
        payoff = (
            loan_payoff_quote(loan=loan, as_of=today, installments=installments)
            if loan.status == Loan.Status.ACTIVE
            else None
        )
    balance = opening = ZERO
    lines = []
    for event in events:
        if event.on > period.until:
            break
        if event.clears_balance:
            event = _clearing(event, balance)
        balance += event.debit - event.credit
        if event.on < period.since:
            opening = balance
            continue
        lines.append(
            StatementLine(
                on=event.on,
                kind=event.kind,
                description=event.description,
                reference=event.reference,
                debit=event.debit,
                credit=event.credit,
                fees=event.fees,
                interest=event.interest,
                principal=event.principal,
                recovered=event.recovered,
                balance=balance,
            )
        )
    borrower = loan.borrower
    product = loan.product
    return LoanStatement(
        loan_id=loan.pk,
        borrower_name=borrower.name,
        borrower_email=borrower.email,
        product_code=product.code,
        product_name=product.name,
        status=loan.status,
        principal_amount=loan.principal_amount,
        interest_rate=loan.interest_rate,
        interest_method=loan.interest_method,
        tenure_months=loan.tenure_months,
        emi_amount=loan.emi_amount,
        total_interest=loan.total_interest,
        disbursed_on=loan.disbursed_on,
        business_date=today,
        days_past_due=loan.days_past_due,
        delinquency_bucket=loan.delinquency_bucket,
        period=period,
        opening_balance=opening,
        lines=lines,
        totals=Totals(
            debit=sum((line.debit for line in lines), ZERO),
            credit=sum((line.credit for line in lines), ZERO),
            recovered=sum((line.recovered for line in lines), ZERO),
        ),
        closing_balance=balance,
        schedule=[
            ScheduleRow(
                number=i.number,
                due_date=i.due_date,
                principal=i.principal,
                interest=i.interest,
                total=i.total,
                fee_charged=i.fee_charged,
                paid=i.paid,
                fee_paid=i.fee_paid,
                fee_waived=i.fee_waived,
                unpaid=i.unpaid,
                paid_on=i.paid_on,
                status=installment_status(i, as_of=today),
            )
            for i in installments
        ],
        written_off_amount=loan.written_off_amount,
        recovered_amount=loan.recovered_amount,
        payoff=payoff,
    )


def _clearing(event: LoanEventLine, balance: Decimal) -> LoanEventLine:
    """A line that takes off all of ``balance`` (a write-off): its credit and interest."""
    return replace(
        event,
        credit=balance,
        interest=balance - event.principal - event.fees,
        clears_balance=False,
    )
