"""The one way a loan's schedule changes: a new version, recorded with when and why.

``schedule_version_record`` records the schedule a loan has now (version 1, at
disbursement); ``schedule_reschedule`` replaces the planned figures of a loan's
installments (due date, principal, interest) and records the result as the next
version. Whatever reschedules a loan (a prepayment; a replay after a reversal) calls
it, so the loan's current installments always equal its latest version, which
``reconcile`` checks. Owned by ``loans.services``: callers hold the loan's row lock
inside their transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Max

from loans.models import (
    Installment,
    Loan,
    Repayment,
    RepaymentAllocation,
    ScheduleVersion,
    ScheduleVersionRow,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PlannedInstallment:
    """An installment as a schedule plans it (what is paid of it is kept by the row)."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal


def schedule_version_record(
    *,
    loan: Loan,
    reason: str,
    business_date: date,
    actor=None,
    repayment: Repayment | None = None,
    note: str = "",
) -> ScheduleVersion:
    """Record the loan's current installments as its next schedule version."""
    latest = loan.schedule_versions.aggregate(latest=Max("number"))["latest"] or 0
    version = ScheduleVersion.objects.create(
        loan=loan,
        number=latest + 1,
        reason=reason,
        note=note,
        business_date=business_date,
        repayment=repayment,
        actor=actor,
        emi_amount=loan.emi_amount,
        total_interest=loan.total_interest,
    )
    ScheduleVersionRow.objects.bulk_create(
        ScheduleVersionRow(
            version=version,
            number=row.number,
            due_date=row.due_date,
            principal=row.principal,
            interest=row.interest,
            total=row.total,
            remaining_principal=row.remaining_principal,
        )
        for row in loan.installments.order_by("number")
    )
    return version


def installments_drop(*, installment_ids: Sequence[int]) -> None:
    """Delete installments a new schedule no longer has (a shorter tenure).

    Nothing standing may be allocated to them (the callers check, or move those
    allocations first). What reversed repayments had been allocated to them goes with
    them: a reversed repayment's allocation rows are only its record (its parts and its
    ledger entries stay, and the schedule versions keep the rows as they were planned).
    """
    if not installment_ids:
        return
    RepaymentAllocation.objects.filter(
        installment_id__in=installment_ids, repayment__status=Repayment.Status.REVERSED
    ).delete()
    Installment.objects.filter(pk__in=installment_ids).delete()


def schedule_reschedule(
    *,
    loan: Loan,
    planned: Sequence[PlannedInstallment],
    emi_amount: Decimal,
    reason: str,
    business_date: date,
    actor=None,
    repayment: Repayment | None = None,
    note: str = "",
) -> ScheduleVersion:
    """Give a locked loan the schedule ``planned`` and record it as a new version.

    ``planned`` is the whole schedule, numbered 1..n, its principal parts summing to
    the loan's principal. Existing installments keep what was paid, charged and waived
    on them; installments beyond n are dropped, and must hold nothing paid or charged.
    ``remaining_principal`` is recomputed; ``paid_on`` follows what is left to pay (set
    to ``business_date`` when a row is now settled). The loan's ``emi_amount`` becomes
    ``emi_amount``, ``total_interest`` the sum of the interest parts and
    ``outstanding_amount`` what the installments leave unpaid.

    Locks: none of its own; the caller holds the loan's. Raises ``ValueError`` on a
    schedule that cannot be (a programming error, never the borrower's input): the
    database's CHECKs refuse paid parts above the new figures as well.
    """
    planned = sorted(planned, key=lambda p: p.number)
    if [p.number for p in planned] != list(range(1, len(planned) + 1)):
        raise ValueError("a schedule's installments are numbered 1..n")
    if sum((p.principal for p in planned), ZERO) != loan.principal_amount:
        raise ValueError("a schedule's principal parts sum to the loan's principal")
    existing = {row.number: row for row in loan.installments.order_by("number")}
    dropped = [row for number, row in existing.items() if number > len(planned)]
    for row in dropped:
        if row.principal_paid or row.interest_paid or row.fee_charged or row.interest_waived:
            raise ValueError(f"installment {row.number} holds payments and cannot be dropped")
    installments_drop(installment_ids=[row.pk for row in dropped])

    remaining = loan.principal_amount
    changed, created = [], []
    for plan in planned:
        remaining -= plan.principal
        row = existing.get(plan.number) or Installment(loan=loan, number=plan.number)
        row.due_date = plan.due_date
        row.principal, row.interest = plan.principal, plan.interest
        row.total = plan.principal + plan.interest
        row.remaining_principal = remaining
        if row.unpaid == 0 and row.paid_on is None:
            row.paid_on = business_date
        elif row.unpaid > 0:
            row.paid_on = None
        (changed if row.pk else created).append(row)
    Installment.objects.bulk_update(
        changed,
        ["due_date", "principal", "interest", "total", "remaining_principal", "paid_on"],
    )
    Installment.objects.bulk_create(created)

    rows = changed + created
    loan.emi_amount = emi_amount
    loan.total_interest = sum((row.interest for row in rows), ZERO)
    loan.outstanding_amount = sum((row.unpaid for row in rows), ZERO)
    loan.save(update_fields=["emi_amount", "total_interest", "outstanding_amount", "updated_at"])
    return schedule_version_record(
        loan=loan,
        reason=reason,
        business_date=business_date,
        actor=actor,
        repayment=repayment,
        note=note,
    )
