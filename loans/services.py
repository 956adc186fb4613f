"""Every write of the loans app: applying, approving, disbursing, rejecting, repaying.

Each event a borrower hears about is written to the notifications outbox by the
service that makes it, in the same transaction (``_notify``): no event without its
notification, no notification without its event.

Lock order, everywhere: the loan row, then wallet rows (inside ``ledger_post``, or with
the loan in one statement: ``loans.repayment_sql.repayment_lock``), then nothing else.
Installment rows are children of the loan and are only written under the loan's lock,
so they need no lock of their own.
"""

import threading
from datetime import date
from decimal import Decimal

from cachetools import TTLCache
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from ledger.models import Account, JournalEntry
from ledger.references import (
    disbursement_reference,
    fee_waiver_reference,
    recovery_reference,
    repayment_reference,
)
from ledger.selectors import account_system_id, business_date_get
from ledger.services import ledger_post, ledger_post_with
from lendingsite.cte import WriteStatement
from lendingsite.db import service_atomic
from lendingsite.money import format_money
from loans.allocation import Owed, Share, allocate
from loans.close_of_business import ONE_DAY, delinquency_refresh, loans_close_through
from loans.confirmations import Kind, confirmation_required
from loans.exceptions import (
    REASON_REQUIRED,
    DecisionForbiddenError,
    EligibilityError,
    LoanError,
    LoanNotFoundError,
    LoanStateError,
    PayoffAmountChangedError,
    RepaymentError,
    SameOfficerError,
)
from loans.locks import loan_qs_select_for_update
from loans.models import (
    FeeWaiver,
    Installment,
    Loan,
    LoanEvent,
    LoanProduct,
    LoanRecovery,
    LoanWriteOff,
    OfficerActionRequest,
    Repayment,
    RepaymentAllocation,
    ScheduleVersion,
)
from loans.payoff import payoff_lines, payoff_quote
from loans.prepayment import LoanTerms, prepayment_plan
from loans.repayment_sql import (
    installments_unpaid,
    installments_update_with,
    loan_update_with,
    repayment_lock,
)
from loans.rescheduling import schedule_reschedule, schedule_version_record
from loans.schedule import InterestMethod, Quote, add_months, quote
from loans.write_offs import loans_write_off, write_off_figures
from notifications.models import Notification
from notifications.services import notification_add, notification_add_with
from wallets.locks import wallet_qs_select_for_update
from wallets.selectors import wallet_account_id

OPEN_STATUSES = (Loan.Status.APPROVED, Loan.Status.ACTIVE)
ZERO = Decimal("0.00")


def _standard_product() -> LoanProduct:
    """The default product: created by migration from the ``LOAN_*`` settings, and again
    from them if it is ever missing (a transactional test's flush empties the tables)."""
    product, _ = LoanProduct.objects.get_or_create(
        code=LoanProduct.STANDARD,
        defaults={
            "name": "Standard personal loan",
            "max_principal": settings.LOAN_MAX_PRINCIPAL,
            "min_tenure_months": settings.LOAN_MIN_TENURE_MONTHS,
            "max_tenure_months": settings.LOAN_MAX_TENURE_MONTHS,
            "min_rate": settings.LOAN_MIN_RATE,
            "max_rate": settings.LOAN_MAX_RATE,
            "default_rate": settings.LOAN_DEFAULT_RATE,
            "maker_checker_threshold": settings.LOAN_MAKER_CHECKER_THRESHOLD,
            "max_open_loans": settings.LOAN_MAX_OPEN_PER_BORROWER,
        },
    )
    return product


def loan_product_get(*, code: str | None = None) -> LoanProduct:
    """An active product by code (``STANDARD`` when none is named); 400 when unknown."""
    code = code or LoanProduct.STANDARD
    product = LoanProduct.objects.filter(code=code, is_active=True).first()
    if product is None and code == LoanProduct.STANDARD:
        product = _standard_product()
    if product is None:
        raise EligibilityError(
            f"product: no loan product {code!r} is offered.",
            code="unknown_product",
            extra={"product": [f"No loan product {code!r} is offered."]},
        )
    return product


def loan_check_product(
    *, product: LoanProduct, principal_amount: Decimal, tenure_months: int, interest_rate: Decimal
):
    """Refuse a loan outside its product's limits; 400 naming the rule."""
    if principal_amount > product.max_principal:
        limit = format_money(product.max_principal)
        raise EligibilityError(
            f"principal_amount: the largest loan is {limit}.",
            code="principal_above_maximum",
            extra={"principal_amount": [f"Ensure this value is at most {limit}."]},
        )
    if principal_amount < product.min_principal:
        limit = format_money(product.min_principal)
        raise EligibilityError(
            f"principal_amount: the smallest loan is {limit}.",
            code="principal_below_minimum",
            extra={"principal_amount": [f"Ensure this value is at least {limit}."]},
        )
    low, high = product.min_tenure_months, product.max_tenure_months
    if not low <= tenure_months <= high:
        raise EligibilityError(
            f"tenure_months: the tenure must be {low} to {high} months.",
            code="tenure_out_of_range",
            extra={"tenure_months": [f"Ensure this value is between {low} and {high}."]},
        )
    low_rate, high_rate = product.min_rate, product.max_rate
    if not low_rate <= interest_rate <= high_rate:
        raise EligibilityError(
            f"interest_rate: the rate must be {low_rate} to {high_rate} percent a year.",
            code="rate_out_of_range",
            extra={"interest_rate": [f"Ensure this value is between {low_rate} and {high_rate}."]},
        )


def loan_quote(
    *,
    product: LoanProduct,
    principal_amount: Decimal,
    tenure_months: int,
    interest_rate: Decimal | None = None,
    interest_method: str | None = None,
    first_due_date: date | None = None,
) -> Quote:
    """Price a loan within its product's limits (no database access)."""
    rate = product.default_rate if interest_rate is None else interest_rate
    loan_check_product(
        product=product,
        principal_amount=principal_amount,
        tenure_months=tenure_months,
        interest_rate=rate,
    )
    return quote(
        principal=principal_amount,
        annual_rate=rate,
        tenure_months=tenure_months,
        method=InterestMethod(interest_method or product.interest_method),
        first_due_date=first_due_date or add_months(timezone.localdate(), 1),
    )


QUOTE_CACHE_SECONDS = 300

# Quotes and the products they are priced on, remembered in each process (not in Redis:
# a round trip and an unpickled schedule cost more than pricing the loan again). A
# product's edits show within QUOTE_CACHE_SECONDS. gthread workers share a process:
# the lock keeps the caches whole.
_quotes: TTLCache = TTLCache(maxsize=4096, ttl=QUOTE_CACHE_SECONDS)
_products: TTLCache = TTLCache(maxsize=64, ttl=QUOTE_CACHE_SECONDS)
_quotes_lock = threading.Lock()


def loan_quote_cached(*, product: str | None = None, **terms) -> Quote:
    """``loan_quote`` for a product code, remembered for a few minutes.

    The key holds everything the price depends on: the product, the terms and the date
    (the first installment falls a month from today). Refusals are not cached.
    """
    key = (product or LoanProduct.STANDARD, timezone.localdate(), *sorted(terms.items()))
    with _quotes_lock:
        cached = _quotes.get(key)
    if cached is None:
        cached = loan_quote(product=_product_cached(product), **terms)
        with _quotes_lock:
            _quotes[key] = cached
    return cached


def _product_cached(code: str | None) -> LoanProduct:
    """The product a quote is priced on, kept as long as quotes are."""
    code = code or LoanProduct.STANDARD
    with _quotes_lock:
        product = _products.get(code)
    if product is None:
        product = loan_product_get(code=code)
        with _quotes_lock:
            _products[code] = product
    return product


def loan_quote_cache_clear() -> None:
    """Forget every remembered quote and product (tests; after a product's edit)."""
    with _quotes_lock:
        _quotes.clear()
        _products.clear()


def _record_event(loan: Loan, source: str, *, actor, reason: str = "", client_ip=None) -> None:
    LoanEvent.objects.create(
        loan=loan,
        source=source,
        target=loan.status,
        actor=actor,
        reason=reason,
        client_ip=client_ip,
    )


def _notify(kind: str, *, loan: Loan, ref: object, today: date, **facts) -> None:
    """Write the borrower's notification of an event, in the event's transaction.

    ``ref`` is the id of the record the event is about (the loan, a repayment, a
    waiver): with ``kind`` it keys the row, so one event is never notified twice.
    """
    notification_add(
        kind=kind,
        ref=ref,
        recipient_id=loan.borrower_id,
        business_date=today,
        loan_id=loan.pk,
        payload=facts,
    )


def _check_open_loan_limit(*, borrower_id: int, limit: int, excluding: int | None = None) -> None:
    open_loans = Loan.objects.filter(borrower_id=borrower_id, status__in=OPEN_STATUSES)
    if excluding is not None:
        open_loans = open_loans.exclude(pk=excluding)
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
    interest_method: str | None = None,
    product: str | None = None,
    client_ip: str | None = None,
) -> Loan:
    """Record an application for a product (``STANDARD`` by default) and its planned
    schedule; the due dates move to the disbursement's business date."""
    sold = loan_product_get(code=product)
    method = InterestMethod(interest_method or sold.interest_method).value
    today = business_date_get()
    priced = loan_quote(
        product=sold,
        principal_amount=principal_amount,
        tenure_months=tenure_months,
        interest_rate=interest_rate,
        interest_method=method,
        first_due_date=add_months(today, 1),
    )
    _check_open_loan_limit(borrower_id=borrower.pk, limit=sold.max_open_loans)
    loan = Loan.objects.create(
        borrower=borrower,
        product=sold,
        principal_amount=principal_amount,
        tenure_months=tenure_months,
        interest_rate=sold.default_rate if interest_rate is None else interest_rate,
        interest_method=method,
        emi_amount=priced.emi_amount,
        total_interest=priced.total_interest,
        maker_checker_threshold=sold.maker_checker_threshold,
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
    _notify(
        Notification.Kind.APPLICATION_RECEIVED,
        loan=loan,
        ref=loan.pk,
        today=today,
        principal_amount=format_money(loan.principal_amount),
        tenure_months=loan.tenure_months,
        interest_rate=str(loan.interest_rate),
        emi_amount=format_money(loan.emi_amount),
    )
    return loan


def _check_may_decide(loan: Loan, officer, permission: str) -> None:
    """Refuse a decision the officer may not take, whichever surface asks for it."""
    if officer.pk == loan.borrower_id:
        raise DecisionForbiddenError(
            "An officer cannot decide on their own loan: another officer must.",
            code="own_loan",
        )
    if not officer.has_perm(permission):
        raise DecisionForbiddenError(
            f"This officer is not allowed to take this decision ({permission})."
        )


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
    _check_may_decide(loan, officer, "loans.approve_loan")
    if loan.status == Loan.Status.APPLIED:
        wallet_qs_select_for_update().get(user_id=loan.borrower_id)
        _check_open_loan_limit(
            borrower_id=loan.borrower_id, limit=loan.product.max_open_loans, excluding=loan.pk
        )
        loan.approve(by=officer)
        _record_event(loan, Loan.Status.APPLIED, actor=officer, client_ip=client_ip)
        _notify(
            Notification.Kind.LOAN_APPROVED,
            loan=loan,
            ref=loan.pk,
            today=business_date_get(),
            principal_amount=format_money(loan.principal_amount),
            awaiting_disbursement=loan.needs_two_officers,
        )
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
    today = business_date_get()
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
        value_date=today,
    )
    first_due = add_months(today, 1)
    installments = list(loan.installments.order_by("number"))
    for installment in installments:
        installment.due_date = add_months(first_due, installment.number - 1)
    Installment.objects.bulk_update(installments, ["due_date"])
    schedule_version_record(
        loan=loan,
        reason=ScheduleVersion.Reason.DISBURSEMENT,
        business_date=today,
        actor=officer,
    )
    loan.outstanding_amount = loan.principal_amount + loan.total_interest
    loan.disbursed_on = today
    loan.closed_through = today - ONE_DAY  # its first day to close is the disbursement day
    loan.save(
        update_fields=[
            "status",
            "approved_by",
            "approved_at",
            "disbursed_by",
            "disbursed_at",
            "disbursement_entry",
            "disbursed_on",
            "closed_through",
            "outstanding_amount",
            "updated_at",
        ]
    )
    _notify(
        Notification.Kind.LOAN_DISBURSED,
        loan=loan,
        ref=loan.pk,
        today=today,
        principal_amount=format_money(loan.principal_amount),
        emi_amount=format_money(loan.emi_amount),
        tenure_months=loan.tenure_months,
        first_due_date=first_due.isoformat(),
        outstanding_amount=format_money(loan.outstanding_amount),
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
    _check_may_decide(loan, officer, "loans.reject_loan")
    if loan.status != Loan.Status.APPLIED:
        raise LoanStateError(
            f"Loan {loan.pk} is {loan.status}; only APPLIED loans can be rejected."
        )
    loan.reject(by=officer, reason=reason)
    _record_event(loan, Loan.Status.APPLIED, actor=officer, reason=reason, client_ip=client_ip)
    loan.save(
        update_fields=["status", "rejected_by", "rejected_at", "rejection_reason", "updated_at"]
    )
    _notify(
        Notification.Kind.LOAN_REJECTED,
        loan=loan,
        ref=loan.pk,
        today=business_date_get(),
        principal_amount=format_money(loan.principal_amount),
        reason=reason,
    )
    return loan


def loan_catch_up(*, loan: Loan, today: date) -> None:
    """Close the days a locked loan is behind, so what it owes is as of ``today``.

    A loan is normally closed by the close of business; one whose close failed, or that
    a payment reaches before the night's run, is closed here, in the caller's
    transaction, so a payment never lands before the fees it should follow.
    """
    if loan.status == Loan.Status.ACTIVE and loan.closed_through < today - ONE_DAY:
        loans_close_through(closed_through={loan.pk: loan.closed_through}, day=today - ONE_DAY)
        loan.refresh_from_db()


def _unpaid_installments(loan: Loan):
    """The loan's installments not fully paid (fees included), oldest first.

    Read in small batches: a payment usually covers one or two installments, and
    reading all sixty of a five-year loan on every payment would cost more than the rest
    of the repayment. The non-performing order reads them all (it pays principal first).
    """
    batch = 4
    after = 0
    while True:
        rows = installments_unpaid(loan_id=loan.pk, after=after, limit=batch)
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].number
        batch *= 4


def _allocation_order(loan: Loan) -> str:
    product = loan.product
    if loan.days_past_due >= product.npa_days:
        return product.npa_allocation_order
    return product.allocation_order


def _installments_to_pay(loan: Loan, amount: Decimal, order: str) -> list[Installment]:
    if order != LoanProduct.Allocation.INSTALLMENT_FEES_INTEREST_PRINCIPAL:
        return list(loan.installments.filter(paid_on__isnull=True).order_by("number"))
    chosen, covered = [], Decimal("0.00")
    for installment in _unpaid_installments(loan):
        chosen.append(installment)
        covered += installment.unpaid
        if covered >= amount:
            break
    return chosen


@service_atomic
def loan_repay(
    *,
    loan_id: int,
    borrower,
    amount: Decimal,
    idempotency_key: str,
    client_ip: str | None = None,
    prepayment: str | None = None,
) -> Repayment | LoanRecovery:
    """Pay ``amount`` from the borrower's wallet towards an ACTIVE loan, on the business date.

    On a WRITTEN_OFF loan the payment is a recovery instead (``_loan_recover``: returns a
    ``LoanRecovery``). With ``prepayment`` (``REDUCE_EMI`` or ``REDUCE_TENURE``) the
    payment on an ACTIVE loan is a prepayment: see ``_prepay``.

    The loan is first brought up to the business date (``loan_catch_up``). The amount
    is split by the product's allocation order (``loans.allocation``), each
    installment's share recorded. Ledger: wallet debited; loans receivable credited with
    the principal part, interest income with the interest part, fees receivable with the
    fee part. At zero outstanding the loan is CLOSED.

    Locks: the loan (so concurrent repayments on it run one after another and can never
    overpay it), then the wallet's ledger account (so the wallet never goes below
    zero), both in one statement (``loans.repayment_sql``). Transaction: the caller's
    when there is one (over HTTP, the idempotency wrapper's undivided transaction, which
    stores the answer with it), else its own.
    """
    locked = repayment_lock(loan_id=loan_id, borrower_id=borrower.pk)
    loan = locked.loan
    today = locked.business_date or business_date_get()
    loan_catch_up(loan=loan, today=today)  # may write it off (the product's threshold)
    if loan.status == Loan.Status.WRITTEN_OFF:
        return _loan_recover(
            loan, amount=amount, idempotency_key=idempotency_key, client_ip=client_ip
        )
    if loan.status != Loan.Status.ACTIVE:
        raise LoanStateError(
            f"Loan {loan.pk} is {loan.status}; repayments are accepted only on ACTIVE loans."
        )
    if prepayment is not None:
        return _prepay(
            loan,
            borrower=borrower,
            amount=amount,
            kind=prepayment,
            today=today,
            idempotency_key=idempotency_key,
            client_ip=client_ip,
            wallet=(locked.wallet_account_id, locked.wallet_balance),
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
    order = _allocation_order(loan)
    installments = {i.number: i for i in _installments_to_pay(loan, amount, order)}
    shares = allocate(
        amount=amount,
        owed=[
            Owed(
                number=i.number,
                fee=i.fee_due,
                interest=i.interest_due,
                principal=i.principal_due,
            )
            for i in installments.values()
        ],
        order=order,
    )
    return _repayment_post(
        loan,
        payer=borrower,
        amount=amount,
        shares=shares,
        installments=installments,
        today=today,
        idempotency_key=idempotency_key,
        client_ip=client_ip,
        wallet=(locked.wallet_account_id, locked.wallet_balance),
    )


def _repayment_post(
    loan: Loan,
    *,
    payer,
    amount: Decimal,
    shares: list[Share],
    installments: dict[int, Installment],
    today: date,
    idempotency_key: str,
    client_ip: str | None,
    purpose: str = Repayment.Purpose.ORDINARY,
    waived: dict[int, Decimal] | None = None,
    wallet: tuple[int, Decimal],
) -> Repayment:
    """Post a payment split into ``shares`` and record it on the locked loan.

    Ledger: wallet -amount; loans receivable +principal, interest income +interest,
    fees receivable +fees (a foreclosure's interest part is negative when the credit it
    gives back exceeds the interest it collects). ``waived``: interest no longer owed,
    by installment number (foreclosure only), recorded on the installments and taken
    off what the loan owes. At zero outstanding the loan is CLOSED and the repayment
    ``FULL``. ``wallet``: the payer's wallet account and its balance, as the caller
    locked them with the loan (``repayment_lock``).

    Every write is one statement (``loans.repayment_sql``): the entry, its postings and
    the wallet's balance, the installments, the loan, the repayment, its allocations
    and the borrower's notifications. A loan that was overdue has its delinquency
    recomputed after it (a payment cannot make a current loan overdue).
    """
    waived = waived or {}
    fee_part = sum((share.fee for share in shares), ZERO)
    interest_part = sum((share.interest for share in shares), ZERO)
    principal_part = sum((share.principal for share in shares), ZERO)
    interest_waived = sum(waived.values(), ZERO)
    wallet_id, wallet_balance = wallet

    legs = [(wallet_id, -amount)]
    if principal_part:
        legs.append((account_system_id(Account.LOANS_RECEIVABLE), principal_part))
    if interest_part:
        legs.append((account_system_id(Account.INTEREST_INCOME), interest_part))
    if fee_part:
        legs.append((account_system_id(Account.FEES_RECEIVABLE), fee_part))
    now = timezone.now()
    statement = WriteStatement()
    ledger_post_with(
        statement,
        kind=JournalEntry.Kind.EMI_PAYMENT,
        reference=repayment_reference(loan_id=loan.pk, idempotency_key=idempotency_key),
        legs=legs,
        locked_balances={wallet_id: wallet_balance},
        description=f"Repayment on loan {loan.pk}",
        idempotency_key=idempotency_key,
        created_by_id=payer.pk,
        value_date=today,
        now=now,
    )
    touched = {}
    for share in shares:
        installment = installments[share.number]
        installment.fee_paid += share.fee
        installment.interest_paid += share.interest
        installment.principal_paid += share.principal
        touched[share.number] = installment
    for number, amount_waived in waived.items():
        installments[number].interest_waived += amount_waived
        touched[number] = installments[number]
    for installment in touched.values():
        if installment.unpaid == 0 and installment.paid_on is None:
            installment.paid_on = today
    if touched:
        installments_update_with(statement, list(touched.values()))

    was_overdue = loan.days_past_due > 0
    loan.outstanding_amount -= amount + interest_waived
    fully_repaid = loan.outstanding_amount == 0
    if fully_repaid:
        loan.close()
    loan_update_with(statement, loan, now=now)
    repayment = Repayment(
        loan=loan,
        amount=amount,
        principal_part=principal_part,
        interest_part=interest_part,
        fee_part=fee_part,
        value_date=today,
        type=Repayment.Type.FULL if fully_repaid else Repayment.Type.PARTIAL,
        purpose=purpose,
        interest_waived=interest_waived,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    statement.add_insert(
        "repayment",
        [repayment],
        computed={"entry_id": "SELECT id FROM ledger_entry"},
        returning="id, entry_id",
    )
    allocations = [
        RepaymentAllocation(
            installment=installments[share.number],
            fee=share.fee,
            interest=share.interest,
            principal=share.principal,
        )
        for share in shares
    ]
    if allocations:
        statement.add_insert(
            "allocations", allocations, computed={"repayment_id": "SELECT id FROM repayment"}
        )
    payload = _repayment_facts(repayment, today)
    if purpose == Repayment.Purpose.FORECLOSURE:
        _notify_with(
            statement,
            Notification.Kind.LOAN_FORECLOSED,
            loan=loan,
            today=today,
            ref_part="repayment",
            **payload,
            interest_waived=format_money(interest_waived),
            principal_amount=format_money(loan.principal_amount),
        )
    elif purpose == Repayment.Purpose.ORDINARY:
        _notify_with(
            statement,
            Notification.Kind.REPAYMENT_RECEIVED,
            loan=loan,
            today=today,
            ref_part="repayment",
            **payload,
            outstanding_amount=format_money(loan.outstanding_amount),
        )
        if fully_repaid:
            _notify_with(
                statement,
                Notification.Kind.LOAN_CLOSED,
                loan=loan,
                today=today,
                ref=loan.pk,
                **_closed_facts(loan, today),
            )
    # A prepayment is notified by ``_prepay`` once the schedule is recomputed.
    repayment.pk, repayment.entry_id = statement.execute("SELECT * FROM repayment")
    repayment._state.adding = False
    repayment._state.db = DEFAULT_DB_ALIAS
    if fully_repaid:
        _record_event(loan, Loan.Status.ACTIVE, actor=payer, client_ip=client_ip)
    if was_overdue:
        delinquency_refresh(loan_ids=[loan.pk], as_of=today)
    return repayment


def _repayment_facts(repayment: Repayment, today: date) -> dict[str, str]:
    """What every notification of a payment says about it."""
    return {
        "amount": format_money(repayment.amount),
        "fee_part": format_money(repayment.fee_part),
        "interest_part": format_money(repayment.interest_part),
        "principal_part": format_money(repayment.principal_part),
        "value_date": today.isoformat(),
    }


def _notify_with(
    statement: WriteStatement, kind: str, *, loan: Loan, today: date, ref=None, ref_part="", **facts
) -> None:
    """``_notify`` as a part of a one-statement write (``notification_add_with``)."""
    notification_add_with(
        statement,
        name=f"notify_{kind}",
        kind=kind,
        ref=ref,
        ref_part=ref_part,
        recipient_id=loan.borrower_id,
        business_date=today,
        loan_id=loan.pk,
        payload=facts,
    )


def _notify_repayment(loan: Loan, repayment: Repayment, today: date, **schedule) -> None:
    """``repayment_received``; ``schedule``: a prepayment's new EMI and installments."""
    _notify(
        Notification.Kind.REPAYMENT_RECEIVED,
        loan=loan,
        ref=repayment.pk,
        today=today,
        **_repayment_facts(repayment, today),
        outstanding_amount=format_money(loan.outstanding_amount),
        **schedule,
    )


def _closed_facts(loan: Loan, today: date) -> dict[str, str]:
    """What ``loan_closed`` says."""
    return {"principal_amount": format_money(loan.principal_amount), "closed_on": today.isoformat()}


def _notify_closed(loan: Loan, today: date) -> None:
    _notify(
        Notification.Kind.LOAN_CLOSED,
        loan=loan,
        ref=loan.pk,
        today=today,
        **_closed_facts(loan, today),
    )


@transaction.atomic
def loan_fee_waive(
    *,
    loan_id: int,
    installment_number: int,
    amount: Decimal,
    reason: str,
    officer,
    client_ip: str | None = None,
) -> FeeWaiver:
    """Waive all or part of an installment's unpaid late fee, with a reason.

    Ledger: the reverse of the charge for the waived part (fee income debited, fees
    receivable credited); no income is kept for it. The loan owes that much less and
    closes if nothing is left. Locks: the loan. Transaction: its own (the API and the
    console call it directly).
    """
    if amount <= 0:
        raise LoanError(
            "amount: a waiver is of a positive amount.",
            code="waiver_not_positive",
            extra={"amount": ["Ensure this value is greater than 0."]},
        )
    reason = reason_required(reason, action="waiver", code="waiver_reason_required")
    today = business_date_get()
    loan = _locked_loan(loan_id)
    loan_catch_up(loan=loan, today=today)  # may write it off (the product's threshold)
    if loan.status != Loan.Status.ACTIVE:
        raise LoanStateError(
            f"Loan {loan.pk} is {loan.status}; fees are waived only on ACTIVE loans."
        )
    installment = loan.installments.filter(number=installment_number).first()
    if installment is None:
        raise LoanError(
            f"installment_number: loan {loan.pk} has no installment {installment_number}.",
            code="no_such_installment",
            extra={"installment_number": [f"Loan {loan.pk} has no such installment."]},
        )
    if amount > installment.fee_due:
        due = format_money(installment.fee_due)
        raise LoanError(
            f"amount: {format_money(amount)} is more than the unpaid fee {due}.",
            code="waiver_exceeds_fee",
            extra={"amount": [f"Ensure this value is at most {due}."], "fee_due": due},
        )
    entry = ledger_post(
        kind=JournalEntry.Kind.FEE_WAIVER,
        reference=fee_waiver_reference(
            installment_id=installment.pk, number=installment.waivers.count() + 1
        ),
        legs=[
            (account_system_id(Account.FEE_INCOME), -amount),
            (account_system_id(Account.FEES_RECEIVABLE), amount),
        ],
        description=f"Late fee waived on loan {loan.pk}: {reason}"[:255],
        created_by=officer,
        value_date=today,
    )
    installment.fee_waived += amount
    if installment.unpaid == 0:
        installment.paid_on = today
    installment.save(update_fields=["fee_waived", "paid_on"])
    loan.outstanding_amount -= amount
    if loan.outstanding_amount == 0:
        loan.close()
        _record_event(loan, Loan.Status.ACTIVE, actor=officer, reason=reason, client_ip=client_ip)
    loan.save(update_fields=["outstanding_amount", "status", "closed_at", "updated_at"])
    delinquency_refresh(loan_ids=[loan.pk], as_of=today)
    waiver = FeeWaiver.objects.create(
        installment=installment,
        amount=amount,
        reason=reason,
        officer=officer,
        value_date=today,
        entry=entry,
        client_ip=client_ip,
    )

    _notify(
        Notification.Kind.FEE_WAIVED,
        loan=loan,
        ref=waiver.pk,
        today=today,
        installment_number=installment.number,
        amount=format_money(amount),
        remaining_fee_amount=format_money(installment.fee_due),
        outstanding_amount=format_money(loan.outstanding_amount),
    )
    if loan.status == Loan.Status.CLOSED:
        _notify_closed(loan, today)
    return waiver


def _loan_recover(
    loan: Loan, *, amount: Decimal, idempotency_key: str, client_ip: str | None
) -> LoanRecovery:
    """A payment on a written-off loan (locked by the caller): wallet → recovery income.

    Accepted up to what is still unrecovered (``written_off_amount - recovered_amount``;
    400 naming it above). Nothing goes back to the installments or to loans receivable:
    the loss stays booked, and the money recovered is income of its own.
    """
    recoverable = loan.written_off_amount - loan.recovered_amount
    if amount > recoverable:
        limit = format_money(recoverable)
        raise RepaymentError(
            f"amount: {format_money(amount)} is more than the {limit} still to recover on "
            f"written-off loan {loan.pk}.",
            code="amount_exceeds_recoverable",
            extra={"amount": [f"Ensure this value is at most {limit}."], "recoverable": limit},
        )
    today = business_date_get()
    entry = ledger_post(
        kind=JournalEntry.Kind.RECOVERY,
        reference=recovery_reference(loan_id=loan.pk, idempotency_key=idempotency_key),
        legs=[
            (wallet_account_id(user_id=loan.borrower_id), -amount),
            (account_system_id(Account.RECOVERY_INCOME), amount),
        ],
        description=f"Recovery on written-off loan {loan.pk}",
        idempotency_key=idempotency_key,
        created_by=loan.borrower,
        value_date=today,
    )
    loan.recovered_amount += amount
    loan.save(update_fields=["recovered_amount", "updated_at"])
    recovery = LoanRecovery.objects.create(
        loan=loan,
        amount=amount,
        value_date=today,
        idempotency_key=idempotency_key,
        entry=entry,
        client_ip=client_ip,
    )
    _notify(
        Notification.Kind.RECOVERY_RECEIVED,
        loan=loan,
        ref=recovery.pk,
        today=today,
        amount=format_money(amount),
        written_off_amount=format_money(loan.written_off_amount),
        recovered_amount=format_money(loan.recovered_amount),
        still_owed=format_money(loan.written_off_amount - loan.recovered_amount),
        value_date=today.isoformat(),
    )
    return recovery


def reason_required(reason: str | None, *, action: str, code: str) -> str:
    """The officer's reason for ``action`` (a waiver, a write-off, a reversal), stripped;
    400 ``code`` naming the field when it is blank."""
    reason = (reason or "").strip()
    if not reason:
        raise LoanError(
            f"reason: a {action} needs a reason.",
            code=code,
            extra={"reason": [f"A {action} needs a reason."]},
        )
    return reason


def write_off_reason_check(reason: str | None) -> str:
    return reason_required(reason, action="write-off", code="write_off_reason_required")


@transaction.atomic
def loan_write_off(
    *, loan_id: int, officer, reason: str, client_ip: str | None = None
) -> LoanWriteOff | OfficerActionRequest:
    """An officer writes off an ACTIVE loan (``loans.write_offs`` has the rule).

    Above the loan's maker-checker threshold, compared with the unpaid principal, the
    first officer's call records a request and returns it (the API answers 202); a
    different officer's identical call writes the loan off (``loans.confirmations``).
    Refusals: no reason (400), no permission or the officer's own loan (403), a loan not
    ACTIVE (409, nothing changes), the same officer twice (409). Locks: the loan.
    Transaction: its own (the API and the console call it directly).
    """
    reason = write_off_reason_check(reason)
    today = business_date_get()
    loan = _locked_loan(loan_id)
    _check_may_decide(loan, officer, "loans.write_off_loan")
    loan_catch_up(loan=loan, today=today)
    if loan.status != Loan.Status.ACTIVE:
        raise LoanStateError(
            f"Loan {loan.pk} is {loan.status}; only ACTIVE loans can be written off."
        )
    owed = write_off_figures(loan_ids=[loan.pk], day=today)[loan.pk]
    if owed.total == 0:
        raise LoanStateError(
            f"Loan {loan.pk} owes nothing due yet (only interest of later periods): "
            "there is nothing to write off.",
            code="nothing_to_write_off",
        )
    decision = confirmation_required(
        kind=Kind.WRITE_OFF,
        loan=loan,
        target_id=loan.pk,
        amount=owed.principal,
        officer=officer,
        reason=reason,
    )
    if decision.pending:
        return decision.request
    (record,) = loans_write_off(
        loans=[loan],
        day=today,
        reason=reason,
        officer=officer,
        confirmation=decision.request,
        client_ip=client_ip,
    )
    return record


# --- Prepayment and foreclosure (docs/LOANS.md; the payoff rule: loans.payoff) -----------


def _prepay(
    loan: Loan,
    *,
    borrower,
    amount: Decimal,
    kind: str,
    today: date,
    idempotency_key: str,
    client_ip: str | None,
    wallet: tuple[int, Decimal],
) -> Repayment:
    """A prepayment on a locked, caught-up ACTIVE loan; runs in ``loan_repay``'s transaction.

    The rule (what it settles, the schedule it leaves, what is refused) is
    ``loans.prepayment``. Here: the payment is posted with the plan's shares, the
    installments get the planned schedule, a new schedule version records it, and the
    borrower is told the new EMI once the schedule is recomputed.
    """
    rows = {r.number: r for r in loan.installments.order_by("number")}
    plan = prepayment_plan(
        terms=loan_terms(loan), rows=list(rows.values()), amount=amount, kind=kind, today=today
    )
    # The first recomputed installment holds the prepaid principal: it must be able to
    # before it is paid (the CHECK principal_paid <= principal); the reschedule below
    # then gives it its final figures.
    first = rows[plan.first]
    first.principal += plan.extra
    first.total += plan.extra
    first.save(update_fields=["principal", "total"])
    repayment = _repayment_post(
        loan,
        payer=borrower,
        amount=amount,
        shares=plan.shares,
        installments=rows,
        today=today,
        idempotency_key=idempotency_key,
        client_ip=client_ip,
        purpose=kind,
        wallet=wallet,
    )
    schedule_reschedule(
        loan=loan,
        planned=plan.planned,
        emi_amount=plan.emi,
        reason=kind,
        business_date=today,
        actor=borrower,
        repayment=repayment,
        note=f"Prepayment of {format_money(amount)}: {format_money(plan.extra)} to principal.",
    )
    _notify_repayment(
        loan,
        repayment,
        today,
        prepayment=kind,
        emi_amount=format_money(loan.emi_amount),
        installments_left=plan.installments_left,
        last_due_date=plan.last_due_date.isoformat(),
    )
    return repayment


def loan_terms(loan: Loan) -> LoanTerms:
    """The loan's own terms, as the prepayment rule takes them."""
    return LoanTerms(
        loan_id=loan.pk,
        disbursed_on=loan.disbursed_on,
        interest_rate=loan.interest_rate,
        interest_method=loan.interest_method,
        emi_amount=loan.emi_amount,
    )


@service_atomic
def loan_foreclose(
    *,
    loan_id: int,
    borrower,
    amount: Decimal,
    idempotency_key: str,
    client_ip: str | None = None,
) -> Repayment:
    """Pay an ACTIVE loan off on the business date with its payoff total.

    ``amount`` must equal today's payoff total (``loans.payoff``; 409 naming the current
    total otherwise: the borrower's quote is stale) and the wallet must hold it (400
    naming the shortfall). Each installment is settled by its payoff line: fees,
    interest owed and principal are paid; interest not yet accrued, and interest paid in
    advance (the credit, moved to principal), become ``interest_waived``, which is never
    income. The loan is CLOSED and the repayment ``FULL`` (purpose ``FORECLOSURE``).

    Locks: the loan, then the wallet, in one statement (``repayment_lock``). Transaction:
    the caller's when there is one (over HTTP, the idempotency wrapper's), else its own.
    """
    locked = repayment_lock(loan_id=loan_id, borrower_id=borrower.pk)
    loan = locked.loan
    today = locked.business_date or business_date_get()
    loan_catch_up(loan=loan, today=today)  # may write it off (the product's threshold)
    if loan.status != Loan.Status.ACTIVE:
        raise LoanStateError(f"Loan {loan.pk} is {loan.status}; only ACTIVE loans can be paid off.")
    rows = {r.number: r for r in loan.installments.order_by("number")}
    lines = payoff_lines(installments=rows.values(), disbursed_on=loan.disbursed_on, as_of=today)
    total = payoff_quote(loan_id=loan.pk, as_of=today, lines=lines).total
    if amount != total:
        raise PayoffAmountChangedError(
            f"amount: {format_money(amount)} is not today's payoff total "
            f"{format_money(total)}; pay exactly the payoff total.",
            extra={
                "amount": [f"Must be {format_money(total)}."],
                "payoff_total": format_money(total),
            },
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
    return _repayment_post(
        loan,
        payer=borrower,
        amount=amount,
        shares=shares,
        installments=rows,
        today=today,
        idempotency_key=idempotency_key,
        client_ip=client_ip,
        purpose=Repayment.Purpose.FORECLOSURE,
        waived={line.number: line.interest_waived for line in lines if line.interest_waived},
        wallet=(locked.wallet_account_id, locked.wallet_balance),
    )
