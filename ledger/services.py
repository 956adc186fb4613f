"""The one door through which money moves.

``ledger_post`` is the only code that writes postings or changes an account's cached
balance. Every money-moving service (deposits, withdrawals, disbursements, repayments,
reversals) calls it inside its own ``transaction.atomic()`` block.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from ledger.exceptions import DuplicateEntryError, InsufficientFundsError, UnbalancedEntryError
from ledger.locks import account_qs_select_for_update
from ledger.models import Account, BusinessDate, JournalEntry, Posting
from ledger.references import reversal_reference
from ledger.selectors import SYSTEM_ACCOUNTS, account_system_id, business_date_get
from lendingsite.cte import WriteStatement
from lendingsite.db import insert_unless_conflict
from lendingsite.money import CENT, format_money

Leg = tuple[int, Decimal]  # (account id, signed amount: credit > 0, debit < 0)


def account_open(*, code: str, name: str, kind: str, keeps_balance: bool = False) -> Account:
    """Open a ledger account; ``keeps_balance`` for one that holds someone's money.

    An account that keeps a balance starts at 0.00, is locked by every posting on it and
    can never go below zero; the others (system accounts) derive theirs from postings.
    """
    return Account.objects.create(
        code=code, name=name, kind=kind, balance=Decimal("0.00") if keeps_balance else None
    )


def _insufficient_funds(available: Decimal, delta: Decimal) -> InsufficientFundsError:
    requested, shortfall = -delta, -(available + delta)
    return InsufficientFundsError(
        f"Insufficient wallet balance: available {format_money(available)}, "
        f"requested {format_money(requested)}, short by {format_money(shortfall)}.",
        extra={
            "available": format_money(available),
            "requested": format_money(requested),
            "shortfall": format_money(shortfall),
        },
    )


def _validated_deltas(legs: Sequence[Leg]) -> dict[int, Decimal]:
    if len(legs) < 2:
        raise UnbalancedEntryError("An entry needs at least two postings.")
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    for account_id, amount in legs:
        if amount != amount.quantize(CENT) or amount == 0:
            raise UnbalancedEntryError(f"Posting amount {amount} is zero or not in cents.")
        deltas[account_id] += amount
    if sum(amount for _, amount in legs) != 0:
        raise UnbalancedEntryError("Postings of an entry must sum to zero.")
    return deltas


# No savepoint of its own: ledger_post is called by services, each of which owns an
# atomic block; a refusal raised here aborts that block. Wrap a direct call in atomic()
# to carry on after a refusal.
@transaction.atomic(savepoint=False)
def ledger_post(
    *,
    kind: str,
    reference: str,
    legs: Sequence[Leg],
    description: str = "",
    idempotency_key: str = "",
    created_by: User | None = None,
    reverses: JournalEntry | None = None,
    value_date: date | None = None,
) -> JournalEntry:
    """Post one balanced journal entry and move the cached balances of its accounts.

    ``value_date`` is the business date the money moves on (read when not given).

    Locks: the rows of the accounts among the legs that keep a cached balance (wallets'),
    in primary-key order (``FOR NO KEY UPDATE``), so two transfers touching the same
    accounts cannot deadlock. System accounts are never locked: their balances are
    derived from the postings.

    Invariants: legs sum to zero (checked here and again by a deferred trigger at
    commit); no cached balance goes below zero (checked here with a readable error and
    again by a CHECK constraint); ``reference`` is unique (UNIQUE index).

    Raises ``InsufficientFundsError`` or ``DuplicateEntryError``; nothing is written then.
    """
    deltas = _validated_deltas(legs)
    accounts = list(account_qs_select_for_update().filter(pk__in=deltas))
    for account in accounts:
        available = account.balance
        assert available is not None  # locked accounts are those that keep a balance
        new_balance = available + deltas[account.pk]
        if new_balance < 0:
            raise _insufficient_funds(available, deltas[account.pk])
        account.balance = new_balance

    entry = JournalEntry(
        kind=kind,
        reference=reference,
        description=description,
        idempotency_key=idempotency_key,
        created_by=created_by,
        reverses=reverses,
        value_date=value_date or business_date_get(),
        created_at=timezone.now(),
    )
    if not insert_unless_conflict(entry, conflict_columns=("reference",)):
        raise DuplicateEntryError(f"Entry {reference!r} was already posted.")
    Posting.objects.bulk_create(
        Posting(entry=entry, account_id=account_id, amount=amount) for account_id, amount in legs
    )
    for account in accounts:
        account.save(update_fields=["balance", "updated_at"])
    return entry


LEDGER_ENTRY_SQL = """
    INSERT INTO ledger_journalentry
        (kind, reference, description, idempotency_key, created_by_id, value_date, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    RETURNING id
"""
LEDGER_POSTINGS_SQL = """
    INSERT INTO ledger_posting (entry_id, account_id, amount)
    SELECT ledger_entry.id, leg.account_id, leg.amount
    FROM ledger_entry, unnest(%s::bigint[], %s::numeric[]) WITH ORDINALITY
         AS leg(account_id, amount, n)
    ORDER BY leg.n
"""
LEDGER_BALANCES_SQL = """
    UPDATE ledger_account SET balance = new.balance, updated_at = %s
    FROM unnest(%s::bigint[], %s::numeric[]) AS new(id, balance)
    WHERE ledger_account.id = new.id
"""


def ledger_post_with(
    statement: WriteStatement,
    *,
    kind: str,
    reference: str,
    legs: Sequence[Leg],
    locked_balances: Mapping[int, Decimal],
    value_date: date,
    now: datetime,
    description: str = "",
    idempotency_key: str = "",
    created_by_id: int | None = None,
) -> str:
    """``ledger_post`` as parts of the caller's ``statement``; returns the entry's part name.

    For a hot path that writes its own rows in the same statement (a repayment:
    ``loans.repayment_sql``). Adds three parts: ``ledger_entry`` (the journal entry,
    ``RETURNING id``: later parts read the new entry's id from it), ``ledger_postings``
    and ``ledger_balances``. The rules are ``ledger_post``'s, checked here before a part
    is added: legs in cents summing to zero; no cached balance below zero
    (``InsufficientFundsError``); a reference used once (``DuplicateEntryError`` when the
    statement runs). The database checks them again (CHECK, UNIQUE, the deferred
    balanced-entry trigger).

    Locks: the caller has already locked, in this transaction and in the lock order
    (after the loan), every account among the legs that keeps a cached balance, and
    passes their balances as locked in ``locked_balances``. A leg on any other account
    must be a system account's (their balances derive from the postings); anything else
    is a programming error (``ValueError``).
    """
    deltas = _validated_deltas(legs)
    system = {account_system_id(code) for code in SYSTEM_ACCOUNTS}
    balances = {}
    for account_id, delta in deltas.items():
        if account_id in locked_balances:
            available = locked_balances[account_id]
            if available + delta < 0:
                raise _insufficient_funds(available, delta)
            balances[account_id] = available + delta
        elif account_id not in system:
            raise ValueError(
                f"Account {account_id} is neither locked by the caller nor a system account."
            )
    statement.add(
        "ledger_entry",
        LEDGER_ENTRY_SQL,
        [kind, reference, description, idempotency_key, created_by_id, value_date, now],
    )
    statement.refuse(
        "ledger_journalentry_reference_key",
        lambda: DuplicateEntryError(f"Entry {reference!r} was already posted."),
    )
    statement.add(
        "ledger_postings",
        LEDGER_POSTINGS_SQL,
        [[account_id for account_id, _ in legs], [amount for _, amount in legs]],
    )
    if balances:
        statement.add(
            "ledger_balances", LEDGER_BALANCES_SQL, [now, list(balances), list(balances.values())]
        )
    return "ledger_entry"


@dataclass(frozen=True)
class EntryToPost:
    """One entry of ``ledger_post_many``."""

    kind: str
    reference: str
    legs: Sequence[Leg]
    description: str = ""


@transaction.atomic(savepoint=False)
def ledger_post_many(*, entries: Sequence[EntryToPost], value_date: date) -> list[JournalEntry]:
    """Post many balanced entries between system accounts at once (the close of business).

    The set-based twin of ``ledger_post`` for entries that touch no cached balance (late
    fees: fees receivable and fee income), so no row is locked: three statements for any
    number of entries. Raises ``ValueError`` if a leg names an account that keeps a
    cached balance: those go through ``ledger_post`` and its locks. References are unique
    as everywhere (a repeated one raises ``IntegrityError`` and nothing is written).
    """
    if not entries:
        return []
    deltas = [_validated_deltas(entry.legs) for entry in entries]
    account_ids = {account_id for delta in deltas for account_id in delta}
    if Account.objects.filter(pk__in=account_ids, balance__isnull=False).exists():
        raise ValueError("ledger_post_many posts between system accounts only.")
    now = timezone.now()
    posted = JournalEntry.objects.bulk_create(
        JournalEntry(
            kind=entry.kind,
            reference=entry.reference,
            description=entry.description,
            value_date=value_date,
            created_at=now,
        )
        for entry in entries
    )
    Posting.objects.bulk_create(
        Posting(entry=journal_entry, account_id=account_id, amount=amount)
        for journal_entry, entry in zip(posted, entries, strict=True)
        for account_id, amount in entry.legs
    )
    return posted


@transaction.atomic
def ledger_reverse(*, entry_id: int, reason: str, created_by: User | None = None) -> JournalEntry:
    """Correct a posted entry with a new entry that negates each of its postings.

    The ledger's half of a correction (loan servicing: reversing a payment that bounced);
    the caller restores what the entry paid for in the same transaction.
    """
    original = JournalEntry.objects.get(pk=entry_id)
    legs = [(p.account_id, -p.amount) for p in original.postings.order_by("pk")]
    return ledger_post(
        kind=JournalEntry.Kind.REVERSAL,
        reference=reversal_reference(entry_id=original.pk),
        legs=legs,
        description=reason,
        created_by=created_by,
        reverses=original,
    )


def business_date_start(*, day: date) -> bool:
    """Set the first business date of a new platform; False if it already has one.

    For demonstrations and migrations from another system: trading starts on ``day``
    (which may be in the past) and the close of business brings it up to today.
    """
    _, created = BusinessDate.objects.get_or_create(pk=1, defaults={"date": day})
    return created


def business_date_advance(*, closed: date) -> bool:
    """Move the business date from ``closed`` to the next day; False if it was not there.

    Conditional, so that any number of close-of-business workers may call it: the first
    one moves the date, the others find it moved.
    """
    return bool(
        BusinessDate.objects.filter(pk=1, date=closed).update(
            date=closed + timedelta(days=1), updated_at=timezone.now()
        )
    )
