"""The prepayment rule: what a payment flagged REDUCE_EMI or REDUCE_TENURE settles, and
the schedule it leaves. Pure (no database): ``loans.services`` applies it to a loan's
installment rows when a borrower prepays, and ``loans.replay`` to the replayed
installments when a reversal re-applies a standing prepayment, so the rule exists once.

On business date D, a prepayment of ``amount``:

1. settles everything due on or before D, and any later installment already partly paid
   or charged a fee (their unpaid fee, interest and principal);
2. puts the rest, ``extra``, on principal: it is recorded on the first installment after
   D with nothing paid (its principal becomes ``extra`` plus its new principal part, and
   ``extra`` of it is paid);
3. re-amortises the installments after D with nothing paid as an annuity of their
   principal less ``extra`` at the loan's monthly rate, keeping their due dates:
   ``REDUCE_EMI`` keeps their number and lowers the EMI; ``REDUCE_TENURE`` keeps the
   EMI and drops installments from the end, the last absorbing the remainder.

Refused (``PayoffError``, 400): an unknown flag; a flat-interest loan; more than the
payoff total at D; not more than what is due; all the principal (a foreclosure); later
installments paid out of turn.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lendingsite.money import format_money
from loans.allocation import Share
from loans.exceptions import PayoffError
from loans.payoff import payoff_lines, payoff_quote
from loans.rescheduling import PlannedInstallment
from loans.schedule import InterestMethod, amortize, emi_amount

ZERO = Decimal("0.00")
REDUCE_EMI, REDUCE_TENURE = "REDUCE_EMI", "REDUCE_TENURE"
FORECLOSE_HINT = (
    "To pay the loan off, use POST /api/loans/{loan_id}/foreclose with the payoff total."
)


@dataclass(frozen=True)
class LoanTerms:
    """What the rule needs of the loan itself."""

    loan_id: int
    disbursed_on: date
    interest_rate: Decimal
    interest_method: str
    emi_amount: Decimal


@dataclass(frozen=True)
class PrepaymentPlan:
    """What a prepayment does: ``shares`` (its allocation), the schedule it leaves
    (``planned``, the whole schedule numbered 1..n), and the EMI of that schedule.

    ``first`` is the number of the installment that receives ``extra`` (before the
    reschedule gives it its new figures, its principal must grow by ``extra``);
    ``installments_left`` and ``last_due_date`` describe the new schedule after D.
    """

    shares: list[Share]
    planned: list[PlannedInstallment]
    emi: Decimal
    extra: Decimal
    first: int
    installments_left: int
    last_due_date: date


def prepayment_plan(
    *, terms: LoanTerms, rows: Sequence, amount: Decimal, kind: str, today: date
) -> PrepaymentPlan:
    """The prepayment of ``amount`` on ``today``; ``rows``: all the loan's installments
    (``loans.models.Installment`` or anything with its fields and properties)."""
    if kind not in (REDUCE_EMI, REDUCE_TENURE):
        raise PayoffError(
            f"prepayment: {kind!r} is not REDUCE_EMI or REDUCE_TENURE.",
            code="unknown_prepayment",
            extra={"prepayment": ["Must be REDUCE_EMI or REDUCE_TENURE."]},
        )
    if terms.interest_method != InterestMethod.REDUCING:
        raise PayoffError(
            "prepayment: a flat-interest loan's interest does not fall with its principal, "
            "so it cannot be prepaid; pay without 'prepayment', or pay it off.",
            code="prepayment_flat_interest",
            extra={"prepayment": ["Not allowed on a flat-interest loan."]},
        )
    rows = sorted(rows, key=lambda r: r.number)
    total = payoff_quote(
        loan_id=terms.loan_id,
        as_of=today,
        lines=payoff_lines(installments=rows, disbursed_on=terms.disbursed_on, as_of=today),
    ).total
    hint = FORECLOSE_HINT.format(loan_id=terms.loan_id)
    if amount > total:
        raise PayoffError(
            f"amount: {format_money(amount)} is more than the payoff total "
            f"{format_money(total)}. {hint}",
            code="prepayment_exceeds_payoff",
            extra={
                "amount": [f"Ensure this value is at most {format_money(total)}."],
                "payoff_total": format_money(total),
            },
        )
    settle = [r for r in rows if r.unpaid > 0 and (r.due_date <= today or r.paid or r.fee_charged)]
    settled = {r.number for r in settle}
    untouched = [
        r for r in rows if r.due_date > today and r.paid_on is None and r.number not in settled
    ]
    due = sum((r.unpaid for r in settle), ZERO)
    if amount <= due:
        raise PayoffError(
            f"amount: a prepayment must be more than what is due now, {format_money(due)}; "
            "pay that without 'prepayment'.",
            code="prepayment_not_above_due",
            extra={"amount": [f"Ensure this value is more than {format_money(due)}."]},
        )
    extra = amount - due
    untouched_principal = sum((r.principal for r in untouched), ZERO)
    if extra >= untouched_principal:
        raise PayoffError(
            f"amount: {format_money(amount)} would repay all the principal; that is a "
            f"foreclosure (payoff total {format_money(total)}). {hint}",
            code="prepayment_clears_principal",
            extra={"amount": ["A prepayment leaves some principal to pay."]},
        )
    first = untouched[0]
    if [r.number for r in untouched] != list(range(first.number, rows[-1].number + 1)):
        # Only the non-performing order pays later installments out of turn.
        raise PayoffError(
            "prepayment: some later installments are already part paid out of turn; "
            "pay what is due without 'prepayment' first.",
            code="prepayment_out_of_turn",
        )
    new_principal = untouched_principal - extra
    if kind == REDUCE_EMI:
        emi = emi_amount(
            principal=new_principal, annual_rate=terms.interest_rate, tenure_months=len(untouched)
        )
    else:
        emi = terms.emi_amount
    recomputed = amortize(
        principal=new_principal,
        annual_rate=terms.interest_rate,
        due_dates=[r.due_date for r in untouched],
        emi=emi,
    )
    planned = [
        PlannedInstallment(r.number, r.due_date, r.principal, r.interest)
        for r in rows
        if r.number < first.number
    ] + [
        PlannedInstallment(
            first.number + index,
            row.due_date,
            row.principal + (extra if index == 0 else ZERO),
            row.interest,
        )
        for index, row in enumerate(recomputed)
    ]
    shares = [
        Share(r.number, fee=r.fee_due, interest=r.interest_due, principal=r.principal_due)
        for r in settle
    ] + [Share(first.number, principal=extra)]
    return PrepaymentPlan(
        shares=shares,
        planned=planned,
        emi=emi,
        extra=extra,
        first=first.number,
        installments_left=len(recomputed),
        last_due_date=recomputed[-1].due_date,
    )
