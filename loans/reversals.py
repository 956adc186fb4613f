"""Reversing a repayment, and re-allocating the loan's other repayments as if it had never
been made (a module of ``loans.services``: every write here goes through its helpers).

A reversal, in one transaction, on the business date:

1. lock the loan (first in the project's lock order), bring it up to date (its days
   closed, as a repayment does), and check: the repayment is the loan's, still standing,
   and the loan ACTIVE or CLOSED;
2. post the reversal entry: each posting of the repayment's entry, negated
   (``ledger.services.ledger_reverse``; the money goes back to the wallet, whose ledger
   account it locks: second in the lock order);
3. mark the repayment REVERSED, with who, when, the business date and why;
4. replay the loan from its disbursement over its standing events (``loans.replay``)
   and write the outcome: each installment's paid parts, late fee and ``paid_on``; each
   standing repayment's parts, allocations and type; what the loan owes;
5. post one REALLOCATION entry that moves the books by the difference: loans
   receivable, interest income and fees receivable by the change in the standing
   repayments' parts (and by what earlier re-allocations had moved of the reversed
   one's, which its reversal entry, a negation of its first posting, does not undo),
   fees receivable and fee income by the change in fees charged (a
   fee that the reversed payment had avoided is charged now, dated by the day it would
   have been charged). Nothing is edited: after the reversal and the re-allocation each
   account holds what a loan serviced from scratch without the reversed repayment holds;
6. a CLOSED loan that owes again becomes ACTIVE (``Loan.reopen``, a LoanEvent with the
   officer and the reason); days past due and bucket are refreshed as of the business
   date.

A second reversal of the same repayment is refused (409 ``already_reversed``): the
status is read under the loan's lock, so two officers reversing at once are served one
after the other and the second is refused.
"""

from dataclasses import replace
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ledger.models import Account, JournalEntry
from ledger.references import reallocation_reference
from ledger.selectors import account_system_id, business_date_get, entry_postings_by_account
from ledger.services import ledger_post, ledger_reverse
from lendingsite.money import format_money
from loans.close_of_business import ONE_DAY, delinquency_refresh
from loans.confirmations import confirmation_required
from loans.exceptions import (
    RecoveryNotFoundError,
    RepaymentNotFoundError,
    ReversalError,
)
from loans.models import (
    FeeWaiver,
    Installment,
    Loan,
    LoanRecovery,
    OfficerActionRequest,
    Repayment,
    RepaymentAllocation,
    ScheduleVersion,
)
from loans.prepayment import LoanTerms
from loans.replay import (
    InstallmentState,
    Payment,
    ReplayConflictError,
    Replayed,
    Rules,
    Waiver,
    replay,
)
from loans.rescheduling import installments_drop, schedule_version_record
from loans.services import (
    _check_may_decide,
    _locked_loan,
    _notify,
    _record_event,
    loan_catch_up,
    loan_terms,
    reason_required,
)
from notifications.models import Notification

ZERO = Decimal("0.00")
REVERSIBLE_STATUSES = (Loan.Status.ACTIVE, Loan.Status.CLOSED)
# What a schedule plans of an installment (a prepayment changes them), and what the
# events make of it.
SCHEDULE_FIELDS = ("due_date", "principal", "interest")
INSTALLMENT_FIELDS = (
    "interest_waived",
    "principal_paid",
    "interest_paid",
    "fee_charged",
    "fee_charged_on",
    "fee_paid",
    "fee_waived",
    "paid_on",
)


@transaction.atomic
def repayment_reverse(
    *, loan_id: int, repayment_id: int, officer, reason: str, client_ip: str | None = None
) -> Repayment | OfficerActionRequest:
    """Reverse a standing repayment and re-allocate the loan's later repayments.

    A repayment above the loan's maker-checker threshold needs two officers
    (``loans.confirmations``): the first call records a request and returns it (nothing
    else is written); a different officer's identical call carries the reversal out; the
    same officer again is refused (409 ``maker_checker``).

    Refusals: no reason (400); not an officer with ``loans.reverse_repayment``, or the
    officer's own loan (403); no such loan, or the repayment is not this loan's (404);
    already reversed, or the loan neither ACTIVE nor CLOSED (409); the loan's other
    events cannot stand without it (409 ``replay_conflict``). Nothing is written then.

    Locks: the loan, then (in ``ledger_post``) the borrower's wallet account — the
    order of ``loan_repay``, so a reversal and a repayment on the same loan run one
    after the other. Transaction: the caller's when there is one (over HTTP with an
    ``Idempotency-Key``, the idempotency wrapper's), else its own.
    """
    reason = _reversal_reason_check(reason)
    today = business_date_get()
    loan = _locked_loan(loan_id)
    _check_may_decide(loan, officer, "loans.reverse_repayment")
    repayment = Repayment.objects.filter(pk=repayment_id, loan_id=loan.pk).first()
    if repayment is None:
        raise RepaymentNotFoundError(f"Loan {loan.pk} has no repayment {repayment_id}.")
    if repayment.status == Repayment.Status.REVERSED:
        raise ReversalError(
            f"Repayment {repayment.pk} was already reversed on "
            f"{repayment.reversed_on.isoformat()}.",
            code="already_reversed",
        )
    if loan.status == Loan.Status.WRITTEN_OFF:
        raise ReversalError(
            f"Loan {loan.pk} is written off: its repayments are not reversed, since the "
            "loss booked at the write-off would no longer match. Correct the write-off "
            "instead.",
            code="written_off",
        )
    if loan.status not in REVERSIBLE_STATUSES:
        raise ReversalError(
            f"Loan {loan.pk} is {loan.status}; repayments are reversed only on ACTIVE or "
            "CLOSED loans.",
            code="invalid_state",
        )
    decision = confirmation_required(
        kind=OfficerActionRequest.Kind.REVERSE_REPAYMENT,
        loan=loan,
        target_id=repayment.pk,
        amount=repayment.amount,
        officer=officer,
        reason=reason,
    )
    if decision.pending:
        return decision.request
    loan_catch_up(loan=loan, today=today)
    _check_replayable(loan)

    repayment.reversal_entry = ledger_reverse(
        entry_id=repayment.entry_id,
        reason=f"Reversal of repayment {repayment.pk} on loan {loan.pk}: {reason}"[:255],
        created_by=officer,
    )
    repayment.status = Repayment.Status.REVERSED
    repayment.reversed_by = officer
    repayment.reversed_at = timezone.now()
    repayment.reversed_on = today
    repayment.reversal_reason = reason
    repayment.reversal_client_ip = client_ip
    repayment.reallocation_entry = _reallocate(
        loan, today=today, reversed_repayment=repayment, officer=officer
    )
    repayment.save(
        update_fields=[
            "status",
            "reversal_entry",
            "reallocation_entry",
            "reversed_by",
            "reversed_at",
            "reversed_on",
            "reversal_reason",
            "reversal_client_ip",
        ]
    )
    owing = loan.outstanding_amount > 0
    reopened = owing and loan.status == Loan.Status.CLOSED
    if reopened:
        loan.reopen()
        _record_event(
            loan,
            Loan.Status.CLOSED,
            actor=officer,
            reason=f"Repayment {repayment.pk} reversed: {reason}",
            client_ip=client_ip,
        )
    elif not owing and loan.status == Loan.Status.ACTIVE:
        loan.close()
        _record_event(loan, Loan.Status.ACTIVE, actor=officer, reason=reason, client_ip=client_ip)
    loan.save(
        update_fields=["outstanding_amount", "status", "closed_at", "closed_through", "updated_at"]
    )
    delinquency_refresh(loan_ids=[loan.pk], as_of=today)
    _notify(
        Notification.Kind.REPAYMENT_REVERSED,
        loan=loan,
        ref=repayment.pk,
        today=today,
        amount=format_money(repayment.amount),
        value_date=repayment.value_date.isoformat(),
        reason=reason,
        outstanding_amount=format_money(loan.outstanding_amount),
        reopened=reopened,
    )
    return repayment


@transaction.atomic
def recovery_reverse(
    *, loan_id: int, recovery_id: int, officer, reason: str, client_ip: str | None = None
) -> LoanRecovery | OfficerActionRequest:
    """Reverse a recovery on a written-off loan (the payment bounced).

    The reversal entry negates the recovery's (wallet credited, recovery income
    debited); the loan's ``recovered_amount`` goes down by its amount, so as much can be
    recovered again. Nothing else of the loan changes: it stays WRITTEN_OFF, its loss
    booked. Above the loan's maker-checker threshold, compared with the amount, a second
    officer confirms (``loans.confirmations``), as for a repayment.

    Refusals: no reason (400); not an officer with ``loans.reverse_repayment``, or the
    officer's own loan (403); no such loan, or the recovery is not this loan's (404);
    already reversed (409 ``already_reversed``). Locks: the loan, then the wallet's
    ledger account (in ``ledger_reverse``), the order of every payment.
    """
    reason = _reversal_reason_check(reason)
    today = business_date_get()
    loan = _locked_loan(loan_id)
    _check_may_decide(loan, officer, "loans.reverse_repayment")
    recovery = LoanRecovery.objects.filter(pk=recovery_id, loan_id=loan.pk).first()
    if recovery is None:
        raise RecoveryNotFoundError(f"Loan {loan.pk} has no recovery {recovery_id}.")
    if recovery.status == LoanRecovery.Status.REVERSED:
        raise ReversalError(
            f"Recovery {recovery.pk} was already reversed on {recovery.reversed_on.isoformat()}.",
            code="already_reversed",
        )
    decision = confirmation_required(
        kind=OfficerActionRequest.Kind.REVERSE_RECOVERY,
        loan=loan,
        target_id=recovery.pk,
        amount=recovery.amount,
        officer=officer,
        reason=reason,
    )
    if decision.pending:
        return decision.request
    recovery.reversal_entry = ledger_reverse(
        entry_id=recovery.entry_id,
        reason=f"Reversal of recovery {recovery.pk} on loan {loan.pk}: {reason}"[:255],
        created_by=officer,
    )
    recovery.status = LoanRecovery.Status.REVERSED
    recovery.reversed_by = officer
    recovery.reversed_at = timezone.now()
    recovery.reversed_on = today
    recovery.reversal_reason = reason
    recovery.reversal_client_ip = client_ip
    recovery.save(
        update_fields=[
            "status",
            "reversal_entry",
            "reversed_by",
            "reversed_at",
            "reversed_on",
            "reversal_reason",
            "reversal_client_ip",
        ]
    )
    loan.recovered_amount -= recovery.amount
    loan.save(update_fields=["recovered_amount", "updated_at"])
    _notify(
        Notification.Kind.RECOVERY_REVERSED,
        loan=loan,
        ref=recovery.pk,
        today=today,
        amount=format_money(recovery.amount),
        value_date=recovery.value_date.isoformat(),
        reason=reason,
        written_off_amount=format_money(loan.written_off_amount),
        recovered_amount=format_money(loan.recovered_amount),
        still_owed=format_money(loan.written_off_amount - loan.recovered_amount),
    )
    return recovery


def _reversal_reason_check(reason: str | None) -> str:
    return reason_required(reason, action="reversal", code="reversal_reason_required")


def loan_events(loan: Loan) -> list[Payment | Waiver]:
    """The loan's standing money events, as the replay takes them."""
    payments = [
        Payment(
            key=r.pk, value_date=r.value_date, amount=r.amount, seq=r.entry_id, purpose=r.purpose
        )
        for r in loan.repayments.filter(status=Repayment.Status.SUCCESS)
    ]
    waivers = [
        Waiver(
            key=w.pk,
            value_date=w.value_date,
            number=w.installment.number,
            amount=w.amount,
            seq=w.entry_id,
        )
        for w in FeeWaiver.objects.filter(installment__loan=loan).select_related("installment")
    ]
    return [*payments, *waivers]


def loan_disbursement_schedule(loan: Loan) -> tuple[list[InstallmentState], LoanTerms]:
    """The schedule the replay starts from, and the loan's terms with its EMI then.

    The schedule at disbursement is version 1 (``loans.rescheduling``); a loan whose
    schedule never changed has its installments' figures. A loan rescheduled without a
    version 1 to start from (none is made that way) is not replayable.
    """
    versions = list(loan.schedule_versions.order_by("number")[:2])
    terms = loan_terms(loan)
    if len(versions) < 2:
        schedule = [
            InstallmentState(i.number, i.due_date, i.principal, i.interest)
            for i in loan.installments.order_by("number")
        ]
        return schedule, terms
    first = versions[0]
    if first.number != 1 or first.reason != ScheduleVersion.Reason.DISBURSEMENT:
        raise _not_replayable(loan, "its schedule at disbursement is not recorded.")
    schedule = [
        InstallmentState(r.number, r.due_date, r.principal, r.interest)
        for r in first.rows.order_by("number")
    ]
    return schedule, replace(terms, emi_amount=first.emi_amount)


def loan_replayed(loan: Loan, *, closed_through, leaving_out: int | None = None) -> Replayed:
    """The loan's state as its standing events (all, or all but the repayment
    ``leaving_out``) and closed days make it (``loans.replay``)."""
    schedule, terms = loan_disbursement_schedule(loan)
    events = [e for e in loan_events(loan) if not (isinstance(e, Payment) and e.key == leaving_out)]
    return replay(
        rules=Rules.of(loan.product),
        schedule=schedule,
        events=events,
        closed_through=closed_through,
        terms=terms,
    )


def _check_replayable(loan: Loan) -> None:
    """Refuse (409 ``not_replayable``) a loan the replay does not reproduce as it stands.

    Before anything is written, the replay of the loan's standing events, the reversed
    one included, must give back its installments and every standing repayment's
    allocation exactly as recorded. A loan whose history holds what the replay does not
    model — a payment applied after the close of its own value date (the race in
    SERVICING.md), or any future kind of event the replay has not learnt — is refused
    rather than rewritten wrongly. On every other reversal this proves, in production,
    that the replay and the live services agree.
    """
    try:
        replayed = loan_replayed(loan, closed_through=loan.closed_through)
    except ReplayConflictError as exc:
        raise _not_replayable(loan, str(exc)) from exc
    compared = ("number", *SCHEDULE_FIELDS, *INSTALLMENT_FIELDS)
    recorded = [
        tuple(getattr(i, name) for name in compared) for i in loan.installments.order_by("number")
    ]
    expected = [
        tuple(getattr(state, name) for name in compared)
        for _, state in sorted(replayed.installments.items())
    ]
    allocations: dict[int, list] = {}
    for repayment_id, number, fee, interest, principal in (
        RepaymentAllocation.objects.filter(
            repayment__loan=loan, repayment__status=Repayment.Status.SUCCESS
        )
        .order_by("installment__number")
        .values_list("repayment_id", "installment__number", "fee", "interest", "principal")
    ):
        allocations.setdefault(repayment_id, []).append((number, fee, interest, principal))
    replayed_allocations = {
        key: [(s.number, s.fee, s.interest, s.principal) for s in shares]
        for key, shares in replayed.shares.items()
        if shares
    }
    if recorded != expected or allocations != replayed_allocations:
        raise _not_replayable(loan, "its installments are not what its repayments make them.")


def _schedule_of(rows) -> list[tuple]:
    return [tuple(getattr(row, name) for name in ("number", *SCHEDULE_FIELDS)) for row in rows]


def _installments_write(loan: Loan, current: list[Installment], replayed: Replayed):
    """Give the locked loan's installments the replay's figures; return them, in order.

    Installments the replayed schedule no longer has (a shorter tenure: a REDUCE_TENURE
    prepayment that now keeps a higher EMI) are dropped (``installments_drop``); no
    standing repayment's allocation is on them any more (the caller has taken those
    away). Installments the replayed schedule has again (a reversed prepayment's) are
    created.
    """
    by_number = {row.number: row for row in current}
    installments_drop(
        installment_ids=[row.pk for row in current if row.number not in replayed.installments]
    )
    rows, created = [], []
    remaining = loan.principal_amount
    for number, state in sorted(replayed.installments.items()):
        row = by_number.get(number)
        if row is None:
            row = Installment(loan=loan, number=number)
            created.append(row)
        for name in (*SCHEDULE_FIELDS, *INSTALLMENT_FIELDS):
            setattr(row, name, getattr(state, name))
        remaining -= row.principal
        row.total = row.principal + row.interest
        row.remaining_principal = remaining
        rows.append(row)
    Installment.objects.bulk_update(
        [row for row in rows if row.pk],
        [*SCHEDULE_FIELDS, "total", "remaining_principal", *INSTALLMENT_FIELDS],
    )
    Installment.objects.bulk_create(created)
    return rows


def _not_replayable(loan: Loan, why: str) -> ReversalError:
    return ReversalError(
        f"Loan {loan.pk} cannot be replayed from its repayments ({why}) Its repayments "
        "are not reversed automatically; ask the servicing team to correct it.",
        code="not_replayable",
    )


def _reallocate(loan: Loan, *, today, reversed_repayment: Repayment, officer):
    """Write the replay of the locked loan's standing events; post the difference.

    ``reversed_repayment`` is already out of the standing events (its status is set,
    not yet saved: it is left out here by id). Returns the REALLOCATION entry, or None
    when the books need no change.
    """
    # A CLOSED loan stopped being closed by the close of business; reopened, it owes as
    # if its days since had been closed as every active loan's were.
    closed_through = max(loan.closed_through, today - ONE_DAY)
    try:
        replayed = loan_replayed(
            loan, closed_through=closed_through, leaving_out=reversed_repayment.pk
        )
    except ReplayConflictError as exc:
        raise ReversalError(
            f"Repayment {reversed_repayment.pk} cannot be reversed alone: {exc} "
            "Reverse that first.",
            code="replay_conflict",
        ) from exc

    current = list(loan.installments.order_by("number"))
    old_fees_charged = sum((i.fee_charged for i in current), ZERO)
    number_of = {row.pk: row.number for row in current}

    standing = list(
        loan.repayments.filter(status=Repayment.Status.SUCCESS)
        .exclude(pk=reversed_repayment.pk)
        .prefetch_related("allocations")
    )
    # The reversal entry negated the reversed repayment's entry as first posted; an
    # earlier re-allocation may have moved its split since (by a REALLOCATION entry).
    # What that moved is undone here too: the books keep no trace of its parts.
    posted = entry_postings_by_account(entry_ids=[reversed_repayment.entry_id])
    moved = {
        "principal": posted.get(Account.LOANS_RECEIVABLE, ZERO) - reversed_repayment.principal_part,
        "interest": posted.get(Account.INTEREST_INCOME, ZERO) - reversed_repayment.interest_part,
        "fee": posted.get(Account.FEES_RECEIVABLE, ZERO) - reversed_repayment.fee_part,
    }
    changed = []
    for repayment in standing:
        shares = replayed.shares[repayment.pk]
        new = {
            part: sum((getattr(s, part) for s in shares), ZERO)
            for part in ("principal", "interest", "fee")
        }
        kind = (
            Repayment.Type.FULL if replayed.settled_by == repayment.pk else Repayment.Type.PARTIAL
        )
        waived = replayed.waived.get(repayment.pk, ZERO)
        old_split = sorted(
            (number_of[a.installment_id], a.fee, a.interest, a.principal)
            for a in repayment.allocations.all()
        )
        new_split = sorted((s.number, s.fee, s.interest, s.principal) for s in shares)
        if old_split == new_split and (repayment.type, repayment.interest_waived) == (
            kind,
            waived,
        ):
            continue
        for part in moved:
            moved[part] += new[part] - getattr(repayment, f"{part}_part")
        repayment.principal_part = new["principal"]
        repayment.interest_part = new["interest"]
        repayment.fee_part = new["fee"]
        repayment.type = kind
        repayment.interest_waived = waived
        changed.append((repayment, shares))
    # The changed splits go before the installments change (an installment the new
    # schedule drops may hold one), and are written again after.
    RepaymentAllocation.objects.filter(repayment__in=[r for r, _ in changed]).delete()

    rescheduled = _schedule_of(current) != _schedule_of(
        [state for _, state in sorted(replayed.installments.items())]
    )
    schedule_rows = _installments_write(loan, current, replayed)
    by_number = {row.number: row for row in schedule_rows}
    if rescheduled:
        loan.emi_amount = replayed.emi
        loan.total_interest = sum((row.interest for row in schedule_rows), ZERO)
        loan.save(update_fields=["emi_amount", "total_interest", "updated_at"])
        schedule_version_record(
            loan=loan,
            reason=ScheduleVersion.Reason.REVERSAL,
            business_date=today,
            actor=officer,
            repayment=reversed_repayment,
            note=f"Recomputed after the reversal of repayment {reversed_repayment.pk}.",
        )
    RepaymentAllocation.objects.bulk_create(
        RepaymentAllocation(
            repayment=repayment,
            installment=by_number[s.number],
            fee=s.fee,
            interest=s.interest,
            principal=s.principal,
        )
        for repayment, shares in changed
        for s in shares
    )
    changed = [repayment for repayment, _ in changed]
    Repayment.objects.bulk_update(
        changed, ["principal_part", "interest_part", "fee_part", "type", "interest_waived"]
    )

    loan.outstanding_amount = replayed.outstanding
    loan.closed_through = closed_through
    fees_charged = sum((i.fee_charged for i in schedule_rows), ZERO) - old_fees_charged
    legs = [
        (account_system_id(Account.LOANS_RECEIVABLE), moved["principal"]),
        (account_system_id(Account.INTEREST_INCOME), moved["interest"]),
        (account_system_id(Account.FEES_RECEIVABLE), moved["fee"] - fees_charged),
        (account_system_id(Account.FEE_INCOME), fees_charged),
    ]
    legs = [(account, amount) for account, amount in legs if amount]
    if not legs:
        return None
    return ledger_post(
        kind=JournalEntry.Kind.REALLOCATION,
        reference=reallocation_reference(repayment_id=reversed_repayment.pk),
        legs=legs,
        description=f"Re-allocation on loan {loan.pk} after reversing repayment "
        f"{reversed_repayment.pk}",
        created_by=officer,
        value_date=today,
    )
