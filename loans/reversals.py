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
from loans.exceptions import LoanError, RepaymentNotFoundError, ReversalError
from loans.models import (
    FeeWaiver,
    Installment,
    Loan,
    OfficerActionRequest,
    Repayment,
    RepaymentAllocation,
)
from loans.replay import (
    InstallmentState,
    Payment,
    ReplayConflictError,
    Replayed,
    Rules,
    Waiver,
    replay,
)
from loans.services import (
    _check_may_decide,
    _locked_loan,
    _notify,
    _record_event,
    loan_catch_up,
)
from notifications.models import Notification

ZERO = Decimal("0.00")
REVERSIBLE_STATUSES = (Loan.Status.ACTIVE, Loan.Status.CLOSED)
INSTALLMENT_FIELDS = (
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
    reason = (reason or "").strip()
    if not reason:
        raise LoanError(
            "reason: a reversal needs a reason.",
            code="reversal_reason_required",
            extra={"reason": ["A reversal needs a reason."]},
        )
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


def loan_events(loan: Loan) -> list[Payment | Waiver]:
    """The loan's standing money events, as the replay takes them."""
    payments = [
        Payment(key=r.pk, value_date=r.value_date, amount=r.amount, seq=r.entry_id)
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


def loan_replayed(loan: Loan, *, closed_through) -> Replayed:
    """The loan's state as its standing events and closed days make it (``loans.replay``)."""
    schedule = [
        InstallmentState(i.number, i.due_date, i.principal, i.interest)
        for i in loan.installments.order_by("number")
    ]
    return replay(
        rules=Rules.of(loan.product),
        schedule=schedule,
        events=loan_events(loan),
        closed_through=closed_through,
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
    recorded = [
        tuple(getattr(i, name) for name in ("number", *INSTALLMENT_FIELDS))
        for i in loan.installments.order_by("number")
    ]
    expected = [
        tuple(getattr(state, name) for name in ("number", *INSTALLMENT_FIELDS))
        for state in replayed.installments.values()
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
    events = [
        e
        for e in loan_events(loan)
        if not (isinstance(e, Payment) and e.key == reversed_repayment.pk)
    ]
    schedule_rows = list(loan.installments.order_by("number"))
    try:
        replayed = replay(
            rules=Rules.of(loan.product),
            schedule=[
                InstallmentState(i.number, i.due_date, i.principal, i.interest)
                for i in schedule_rows
            ],
            events=events,
            closed_through=closed_through,
        )
    except ReplayConflictError as exc:
        raise ReversalError(
            f"Repayment {reversed_repayment.pk} cannot be reversed alone: {exc} "
            "Reverse that first.",
            code="replay_conflict",
        ) from exc

    old_fees_charged = sum((i.fee_charged for i in schedule_rows), ZERO)
    for row in schedule_rows:
        state = replayed.installments[row.number]
        for name in INSTALLMENT_FIELDS:
            setattr(row, name, getattr(state, name))
    Installment.objects.bulk_update(schedule_rows, INSTALLMENT_FIELDS)
    by_number = {row.number: row for row in schedule_rows}

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
        old_split = sorted(
            (a.installment_id, a.fee, a.interest, a.principal) for a in repayment.allocations.all()
        )
        new_split = sorted((by_number[s.number].pk, s.fee, s.interest, s.principal) for s in shares)
        if old_split == new_split and repayment.type == kind:
            continue
        for part in moved:
            moved[part] += new[part] - getattr(repayment, f"{part}_part")
        repayment.principal_part = new["principal"]
        repayment.interest_part = new["interest"]
        repayment.fee_part = new["fee"]
        repayment.type = kind
        changed.append(repayment)
        RepaymentAllocation.objects.filter(repayment=repayment).delete()
        RepaymentAllocation.objects.bulk_create(
            RepaymentAllocation(
                repayment=repayment,
                installment=by_number[s.number],
                fee=s.fee,
                interest=s.interest,
                principal=s.principal,
            )
            for s in shares
        )
    Repayment.objects.bulk_update(changed, ["principal_part", "interest_part", "fee_part", "type"])

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
