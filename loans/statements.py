"""A loan's statement: what it owed, what happened to it in a period, what it owes now.

``loan_statement`` builds it as plain data; the API serializes that data as JSON
(``loans.api.serializers.LoanStatementOutputSerializer``) and ``loans.statement_pdf``
lays the same data out as a PDF, so the two cannot show different figures.

Every line is an event that changed what the loan owes (its ``outstanding_amount``),
with the balance it left. The events come from **line sources**, one function per kind
of event, each reading its rows in one query: a new kind of event (a reversal, a
write-off, a recovery) is one more function in ``LINE_SOURCES``. What each line means:
docs/STATEMENTS.md.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import chain

from ledger.references import disbursement_reference, late_fee_reference
from ledger.selectors import business_date_get
from lendingsite.db import read_snapshot
from lendingsite.statements import Period, statement_period
from loans.exceptions import LoanStateError
from loans.models import FeeWaiver, Installment, Loan, Repayment
from loans.selectors import installment_status

ZERO = Decimal("0.00")


class LineKind:
    DISBURSEMENT = "DISBURSEMENT"
    REPAYMENT = "REPAYMENT"
    LATE_FEE = "LATE_FEE"
    FEE_WAIVER = "FEE_WAIVER"


# Events of a business day come in the order they were posted (journal entry ids), and
# the close of that day (late fees) after all of them.
DURING_THE_DAY, AT_THE_CLOSE = 0, 1


@dataclass(frozen=True)
class LoanEventLine:
    """One event as a line source gives it: what it did to what the loan owes."""

    on: date  # its value date (a business date)
    when: tuple[int, int]  # its place in the day: (DURING_THE_DAY or AT_THE_CLOSE, sequence)
    kind: str
    description: str
    reference: str  # the journal entry's reference
    debit: Decimal = ZERO  # adds to what the loan owes
    credit: Decimal = ZERO  # takes off what the loan owes
    fees: Decimal = ZERO  # the line's late fees
    interest: Decimal = ZERO  # the line's interest
    principal: Decimal = ZERO  # the line's principal


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


LineSource = Callable[[Loan, list[Installment]], Iterable[LoanEventLine]]


def _disbursement(loan: Loan, installments: list[Installment]) -> Iterable[LoanEventLine]:
    """The principal paid out, and the scheduled interest the loan owes from that day."""
    yield LoanEventLine(
        on=loan.disbursed_on,
        when=(DURING_THE_DAY, loan.disbursement_entry_id),
        kind=LineKind.DISBURSEMENT,
        description="Disbursement and scheduled interest",
        reference=disbursement_reference(loan_id=loan.pk),
        debit=loan.principal_amount + loan.total_interest,
        interest=loan.total_interest,
        principal=loan.principal_amount,
    )


def _repayments(loan: Loan, installments: list[Installment]) -> Iterable[LoanEventLine]:
    rows = (
        Repayment.objects.filter(loan=loan)
        .values_list(
            "value_date",
            "entry_id",
            "entry__reference",
            "amount",
            "fee_part",
            "interest_part",
            "principal_part",
        )
        .order_by("pk")
    )
    for on, entry_id, reference, amount, fees, interest, principal in rows:
        yield LoanEventLine(
            on=on,
            when=(DURING_THE_DAY, entry_id),
            kind=LineKind.REPAYMENT,
            description="Repayment from the wallet",
            reference=reference,
            credit=amount,
            fees=fees,
            interest=interest,
            principal=principal,
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


LINE_SOURCES: tuple[LineSource, ...] = (_disbursement, _repayments, _late_fees, _fee_waivers)


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
    balance = opening = ZERO
    lines = []
    for event in events:
        if event.on > period.until:
            break
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
    )
