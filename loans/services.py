"""Every write of the loans app: applying, approving, disbursing, rejecting, repaying.

Lock order, everywhere: the loan row, then wallet rows (inside ``ledger_post``), then
nothing else. Installment rows are children of the loan and are only written under the
loan's lock, so they need no lock of their own.
"""

import hashlib
import json
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ledger.models import Account, JournalEntry
from ledger.references import disbursement_reference, repayment_reference
from ledger.selectors import account_system_id
from ledger.services import ledger_post
from lendingsite.money import format_money
from loans.exceptions import (
    REASON_REQUIRED,
    EligibilityError,
    LoanNotFoundError,
    LoanStateError,
    RepaymentError,
    SameOfficerError,
)
from loans.locks import loan_qs_select_for_update
from loans.models import Installment, Loan, LoanEvent, Repayment
from loans.schedule import InterestMethod, Quote, add_months, quote
from wallets.locks import wallet_qs_select_for_update
from wallets.selectors import wallet_account_id

OPEN_STATUSES = (Loan.Status.APPROVED, Loan.Status.ACTIVE)


def loan_check_product(*, principal_amount: Decimal, tenure_months: int, interest_rate: Decimal):
    """Refuse a loan outside the product's limits (settings ``LOAN_*``); 400 naming the rule."""
    if principal_amount > settings.LOAN_MAX_PRINCIPAL:
        limit = format_money(settings.LOAN_MAX_PRINCIPAL)
        raise EligibilityError(
            f"principal_amount: the largest loan is {limit}.",
            code="principal_above_maximum",
            extra={"principal_amount": [f"Ensure this value is at most {limit}."]},
        )
    low, high = settings.LOAN_MIN_TENURE_MONTHS, settings.LOAN_MAX_TENURE_MONTHS
    if not low <= tenure_months <= high:
        raise EligibilityError(
            f"tenure_months: the tenure must be {low} to {high} months.",
            code="tenure_out_of_range",
            extra={"tenure_months": [f"Ensure this value is between {low} and {high}."]},
        )
    low_rate, high_rate = settings.LOAN_MIN_RATE, settings.LOAN_MAX_RATE
    if not low_rate <= interest_rate <= high_rate:
        raise EligibilityError(
            f"interest_rate: the rate must be {low_rate} to {high_rate} percent a year.",
            code="rate_out_of_range",
            extra={"interest_rate": [f"Ensure this value is between {low_rate} and {high_rate}."]},
        )


def loan_quote(
    *,
    principal_amount: Decimal,
    tenure_months: int,
    interest_rate: Decimal | None = None,
    interest_method: str = InterestMethod.REDUCING,
    first_due_date: date | None = None,
) -> Quote:
    """Price a loan within the product's limits (no database access)."""
    rate = settings.LOAN_DEFAULT_RATE if interest_rate is None else interest_rate
    loan_check_product(
        principal_amount=principal_amount, tenure_months=tenure_months, interest_rate=rate
    )
    return quote(
        principal=principal_amount,
        annual_rate=rate,
        tenure_months=tenure_months,
        method=InterestMethod(interest_method),
        first_due_date=first_due_date or add_months(timezone.localdate(), 1),
    )


QUOTE_CACHE_SECONDS = 300


def loan_quote_cached(**terms) -> Quote:
    """``loan_quote``, remembered in the cache (Redis) for a few minutes.

    The key holds everything the price depends on: the terms, the default rate and the
    date (the first installment falls a month from today). Refusals are not cached.
    """
    fingerprint = json.dumps(
        {**terms, "default_rate": settings.LOAN_DEFAULT_RATE, "today": timezone.localdate()},
        sort_keys=True,
        default=str,
    )
    key = "loan-quote:" + hashlib.sha256(fingerprint.encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        cached = loan_quote(**terms)
        cache.set(key, cached, timeout=QUOTE_CACHE_SECONDS)
    return cached


def _record_event(loan: Loan, source: str, *, actor, reason: str = "", client_ip=None) -> None:
    LoanEvent.objects.create(
        loan=loan,
        source=source,
        target=loan.status,
        actor=actor,
        reason=reason,
        client_ip=client_ip,
    )


def _check_open_loan_limit(*, borrower_id: int, excluding: int | None = None) -> None:
    open_loans = Loan.objects.filter(borrower_id=borrower_id, status__in=OPEN_STATUSES)
    if excluding is not None:
        open_loans = open_loans.exclude(pk=excluding)
    limit = settings.LOAN_MAX_OPEN_PER_BORROWER
    if open_loans.count() >= limit:
        raise EligibilityError(
            f"The borrower already has {limit} approved or active loans, the most allowed.",
            code="too_many_open_loans",
        )


@transaction.atomic
def loan_apply(
    *,
    borrower,
    principal_amount: Decimal,
    tenure_months: int,
    interest_rate: Decimal | None = None,
    interest_method: str = InterestMethod.REDUCING,
    client_ip: str | None = None,
) -> Loan:
    """Record an application and its planned schedule (dates move to the disbursement day)."""
    priced = loan_quote(
        principal_amount=principal_amount,
        tenure_months=tenure_months,
        interest_rate=interest_rate,
        interest_method=interest_method,
    )
    _check_open_loan_limit(borrower_id=borrower.pk)
    loan = Loan.objects.create(
        borrower=borrower,
        principal_amount=principal_amount,
        tenure_months=tenure_months,
        interest_rate=settings.LOAN_DEFAULT_RATE if interest_rate is None else interest_rate,
        interest_method=InterestMethod(interest_method).value,
        emi_amount=priced.emi_amount,
        total_interest=priced.total_interest,
        maker_checker_threshold=settings.LOAN_MAKER_CHECKER_THRESHOLD,
    )
    Installment.objects.bulk_create(
        Installment(
            loan=loan,
            number=row.number,
            due_date=row.due_date,
            principal=row.principal,
            interest=row.interest,
            total=row.total,
            remaining_principal=row.remaining_principal,
        )
        for row in priced.installments
    )
    _record_event(loan, "", actor=borrower, client_ip=client_ip)
    return loan


def _locked_loan(loan_id: int, **filters) -> Loan:
    try:
        return loan_qs_select_for_update().get(pk=loan_id, **filters)
    except Loan.DoesNotExist as exc:
        raise LoanNotFoundError(f"Loan {loan_id} was not found.") from exc


@transaction.atomic
def loan_approve(*, loan_id: int, officer, client_ip: str | None = None) -> Loan:
    """Approve a loan; disburse it now, or (maker-checker) when a second officer approves.

    Below ``LOAN_MAKER_CHECKER_THRESHOLD``: APPLIED → APPROVED → ACTIVE in this one
    transaction. At or above it: the first officer's approval stops at APPROVED; a
    different officer's approval disburses (APPROVED → ACTIVE). The same officer can
    never do both (``SameOfficerError``; also a CHECK constraint).

    Locks: the loan, then the borrower's wallet (the open-loan limit is counted under
    it, so two approvals for one borrower cannot both pass it). Transaction: its own
    (the API and the console call it directly).
    """
    loan = _locked_loan(loan_id)
    if loan.status == Loan.Status.APPLIED:
        wallet_qs_select_for_update().get(user_id=loan.borrower_id)
        _check_open_loan_limit(borrower_id=loan.borrower_id, excluding=loan.pk)
        loan.approve(by=officer)
        _record_event(loan, Loan.Status.APPLIED, actor=officer, client_ip=client_ip)
        if loan.needs_two_officers:
            loan.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
            return loan
    elif loan.status == Loan.Status.APPROVED:
        if loan.approved_by_id == officer.pk:
            raise SameOfficerError(
                "This loan needs a second officer: the officer who approved it cannot "
                "also disburse it."
            )
    else:
        raise LoanStateError(
            f"Loan {loan.pk} is {loan.status}; only APPLIED or APPROVED loans can be approved."
        )
    _disburse(loan, officer=officer, client_ip=client_ip)
    return loan


def _disburse(loan: Loan, *, officer, client_ip: str | None) -> None:
    """APPROVED → ACTIVE: pay the principal into the wallet and start the schedule."""
    loan.disburse(by=officer)
    _record_event(loan, Loan.Status.APPROVED, actor=officer, client_ip=client_ip)
    loan.disbursement_entry = ledger_post(
        kind=JournalEntry.Kind.LOAN_DISBURSEMENT,
        reference=disbursement_reference(loan_id=loan.pk),
        legs=[
            (wallet_account_id(user_id=loan.borrower_id), loan.principal_amount),
            (account_system_id(Account.LOANS_RECEIVABLE), -loan.principal_amount),
        ],
        description=f"Disbursement of loan {loan.pk}",
        created_by=officer,
    )
    first_due = add_months(timezone.localdate(), 1)
    installments = list(loan.installments.order_by("number"))
    for installment in installments:
        installment.due_date = add_months(first_due, installment.number - 1)
    Installment.objects.bulk_update(installments, ["due_date"])
    loan.outstanding_amount = loan.principal_amount + loan.total_interest
    loan.save(
        update_fields=[
            "status",
            "approved_by",
            "approved_at",
            "disbursed_by",
            "disbursed_at",
            "disbursement_entry",
            "outstanding_amount",
            "updated_at",
        ]
    )


@transaction.atomic
def loan_reject(*, loan_id: int, officer, reason: str, client_ip: str | None = None) -> Loan:
    """APPLIED → REJECTED, with the reason the borrower will see. Locks: the loan."""
    reason = (reason or "").strip()
    if not reason:
        raise LoanStateError(
            "rejection_reason: a rejection needs a reason.",
            code=REASON_REQUIRED,
            extra={"rejection_reason": ["A rejection needs a reason."]},
        )
    loan = _locked_loan(loan_id)
    if loan.status != Loan.Status.APPLIED:
        raise LoanStateError(
            f"Loan {loan.pk} is {loan.status}; only APPLIED loans can be rejected."
        )
    loan.reject(by=officer, reason=reason)
    _record_event(loan, Loan.Status.APPLIED, actor=officer, reason=reason, client_ip=client_ip)
    loan.save(
        update_fields=["status", "rejected_by", "rejected_at", "rejection_reason", "updated_at"]
    )
    return loan


def _unpaid_installments(loan: Loan, amount: Decimal):
    """The loan's unpaid installments, oldest first, fetched in small batches.

    A payment usually covers one or two installments: reading all sixty of a five-year
    loan on every payment would cost more than the rest of the repayment.
    """
    unpaid = loan.installments.filter(
        Q(principal_paid__lt=F("principal")) | Q(interest_paid__lt=F("interest"))
    ).order_by("number")
    batch = int(amount // loan.emi_amount) + 2 if loan.emi_amount else 2
    after = 0
    while True:
        rows = list(unpaid.filter(number__gt=after)[:batch])
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].number


def _allocate(loan: Loan, amount: Decimal) -> tuple[Decimal, Decimal, list[Installment]]:
    """Apply ``amount`` to the oldest unpaid installments, interest before principal.

    Returns the principal part, the interest part and the installments it touched.
    """
    left = amount
    principal_part = interest_part = Decimal("0.00")
    touched = []
    for installment in _unpaid_installments(loan, amount):
        touched.append(installment)
        pay_interest = min(left, installment.interest - installment.interest_paid)
        installment.interest_paid += pay_interest
        left -= pay_interest
        pay_principal = min(left, installment.principal - installment.principal_paid)
        installment.principal_paid += pay_principal
        left -= pay_principal
        interest_part += pay_interest
        principal_part += pay_principal
        if not left:
            break
    return principal_part, interest_part, touched


@transaction.atomic
def loan_repay(
    *,
    loan_id: int,
    borrower,
    amount: Decimal,
    idempotency_key: str,
    client_ip: str | None = None,
) -> Repayment:
    """Pay ``amount`` from the borrower's wallet towards an ACTIVE loan.

    Locks: the loan (so concurrent repayments on it run one after another and can never
    overpay it), then the wallet inside ``ledger_post`` (so the wallet never goes below
    zero). Ledger: wallet debited; loans receivable credited with the principal part,
    interest income with the interest part. At zero outstanding the loan is CLOSED.

    Transaction: the caller's when there is one (over HTTP, the idempotency wrapper's,
    which runs this in a savepoint and stores the answer with it), else its own.
    """
    loan = _locked_loan(loan_id, borrower=borrower)
    if loan.status != Loan.Status.ACTIVE:
        raise LoanStateError(
            f"Loan {loan.pk} is {loan.status}; repayments are accepted only on ACTIVE loans."
        )
    if amount > loan.outstanding_amount:
        outstanding = format_money(loan.outstanding_amount)
        raise RepaymentError(
            f"amount: {format_money(amount)} is more than the outstanding {outstanding}.",
            code="amount_exceeds_outstanding",
            extra={
                "amount": [f"Ensure this value is at most {outstanding}."],
                "outstanding_amount": outstanding,
            },
        )
    principal_part, interest_part, touched = _allocate(loan, amount)

    legs = [(wallet_account_id(user_id=borrower.pk), -amount)]
    if principal_part:
        legs.append((account_system_id(Account.LOANS_RECEIVABLE), principal_part))
    if interest_part:
        legs.append((account_system_id(Account.INTEREST_INCOME), interest_part))
    entry = ledger_post(
        kind=JournalEntry.Kind.EMI_PAYMENT,
        reference=repayment_reference(loan_id=loan.pk, idempotency_key=idempotency_key),
        legs=legs,
        description=f"Repayment on loan {loan.pk}",
        idempotency_key=idempotency_key,
        created_by=borrower,
    )
    Installment.objects.bulk_update(touched, ["principal_paid", "interest_paid"])

    loan.outstanding_amount -= amount
    fully_repaid = loan.outstanding_amount == 0
    if fully_repaid:
        loan.close()
        _record_event(loan, Loan.Status.ACTIVE, actor=borrower, client_ip=client_ip)
    loan.save(update_fields=["outstanding_amount", "status", "closed_at", "updated_at"])
    return Repayment.objects.create(
        loan=loan,
        amount=amount,
        principal_part=principal_part,
        interest_part=interest_part,
        type=Repayment.Type.FULL if fully_repaid else Repayment.Type.PARTIAL,
        idempotency_key=idempotency_key,
        entry=entry,
    )
