from collections.abc import Callable, Iterable
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from accounts.models import User
from ledger.exceptions import InsufficientFundsError
from ledger.models import Account, JournalEntry
from ledger.references import deposit_reference, withdrawal_reference
from ledger.selectors import account_system_id, posting_get, posting_list_standing_debits
from ledger.services import account_open, ledger_post, ledger_reverse
from lendingsite.db import service_atomic
from lendingsite.money import format_money
from wallets.exceptions import (
    DepositNotFoundError,
    DepositReversalError,
    WalletError,
    WalletForbiddenError,
)
from wallets.models import Wallet, WalletTransfer
from wallets.selectors import wallet_account_id, wallet_get_for_account


@transaction.atomic
def wallet_open(*, user: User) -> Wallet:
    """Open an empty wallet, and the ledger account that holds its money, for a user."""
    account = account_open(
        code=f"wallet:{user.pk}",
        name=f"Wallet of {user.email}",
        kind=Account.Kind.LIABILITY,
        keeps_balance=True,
    )
    return Wallet.objects.create(user=user, account=account, currency=settings.CURRENCY)


@service_atomic
def wallet_deposit(*, user: User, amount: Decimal, idempotency_key: str) -> JournalEntry:
    """Credit the wallet with a (simulated) transfer in from the user's bank.

    Ledger: bank (asset) debited, wallet (liability) credited. Locks: the wallet's
    ledger account. Runs in the caller's transaction when there is one (over HTTP, the
    idempotency record's), else in its own. The entry's business record is a
    ``WalletTransfer``, written with it.
    """
    entry = ledger_post(
        kind=JournalEntry.Kind.DEPOSIT,
        reference=deposit_reference(user_id=user.pk, idempotency_key=idempotency_key),
        legs=[
            (wallet_account_id(user_id=user.pk), amount),
            (account_system_id(Account.BANK), -amount),
        ],
        description="Deposit from linked bank account",
        idempotency_key=idempotency_key,
        created_by=user,
    )
    _transfer_record(user=user, kind=WalletTransfer.Kind.DEPOSIT, amount=amount, entry=entry)
    return entry


@service_atomic
def wallet_withdraw(*, user: User, amount: Decimal, idempotency_key: str) -> JournalEntry:
    """Pay money out of the wallet to the user's bank.

    Ledger: wallet debited, bank credited. Locks: the wallet's ledger account. Raises
    ``InsufficientFundsError`` (naming the shortfall) when the balance is too small.
    Runs in the caller's transaction when there is one (over HTTP, the idempotency
    record's), else in its own. The entry's business record is a ``WalletTransfer``.
    """
    entry = ledger_post(
        kind=JournalEntry.Kind.WITHDRAWAL,
        reference=withdrawal_reference(user_id=user.pk, idempotency_key=idempotency_key),
        legs=[
            (wallet_account_id(user_id=user.pk), -amount),
            (account_system_id(Account.BANK), amount),
        ],
        description="Withdrawal to linked bank account",
        idempotency_key=idempotency_key,
        created_by=user,
    )
    _transfer_record(user=user, kind=WalletTransfer.Kind.WITHDRAWAL, amount=amount, entry=entry)
    return entry


def _transfer_record(
    *, user: User, kind: str, amount: Decimal, entry: JournalEntry
) -> WalletTransfer:
    return WalletTransfer.objects.create(
        wallet_id=user.pk,
        kind=kind,
        amount=amount,
        idempotency_key=entry.idempotency_key,
        entry=entry,
    )


# What a wallet's debits paid for, told by the apps above (``loans``: its repayments), so
# a refused reversal can name them: {entry id: description} for the entries it knows.
SpendingDescriber = Callable[[Iterable[int]], dict[int, dict[str, object]]]
_spending_describers: list[SpendingDescriber] = []


def register_spending_describer(describe: SpendingDescriber) -> None:
    """Add an app's describer of wallet debits (called from ``AppConfig.ready``)."""
    if describe not in _spending_describers:
        _spending_describers.append(describe)


def _spent_by(
    *, account_id: int, after_id: int
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The standing debits of the wallet since a posting: (repayments, others)."""
    debits = list(posting_list_standing_debits(account_id=account_id, after_id=after_id))
    described: dict[int, dict[str, object]] = {}
    for describe in _spending_describers:
        described.update(describe([p.entry_id for p in debits]))
    repayments: list[dict[str, object]] = []
    others: list[dict[str, object]] = []
    for posting in debits:
        if posting.entry_id in described:
            repayments.append(described[posting.entry_id])
        else:
            others.append(
                {
                    "transaction_id": posting.pk,
                    "kind": posting.entry.kind,
                    "amount": format_money(-posting.amount),
                    "value_date": posting.entry.value_date.isoformat(),
                }
            )
    return repayments, others


@transaction.atomic
def wallet_deposit_reverse(*, transaction_id: int, officer: User, reason: str) -> JournalEntry:
    """Reverse a deposit that bounced: take its amount back out of the wallet.

    ``transaction_id`` is the deposit as the borrower's transaction list shows it (the
    posting on the wallet). The wallet must still hold the amount; when it does not,
    409 ``deposit_spent`` lists the repayments that spent it (reverse them first) and
    any other debits since. Ledger: a reversal entry negating the deposit (wallet
    debited, bank credited). A deposit is reversed once (409 ``already_reversed``).

    Locks: the wallet's ledger account (in ``ledger_post``), under which the balance is
    checked, so a repayment drawing on the wallet at the same moment is either before
    (and listed) or after (and refused for want of funds). Transaction: the caller's
    when there is one, else its own.
    """
    reason = (reason or "").strip()
    if not reason:
        raise WalletError(
            "reason: a reversal needs a reason.",
            code="reversal_reason_required",
            extra={"reason": ["A reversal needs a reason."]},
        )
    if not officer.has_perm("wallets.reverse_deposit"):
        raise WalletForbiddenError(
            "This officer is not allowed to reverse deposits (wallets.reverse_deposit)."
        )
    posting = posting_get(posting_id=transaction_id)
    wallet = wallet_get_for_account(account_id=posting.account_id) if posting else None
    if (
        posting is None
        or wallet is None
        or posting.entry.kind != JournalEntry.Kind.DEPOSIT
        or posting.amount <= 0
    ):
        raise DepositNotFoundError(f"Wallet transaction {transaction_id} is not a deposit.")
    if wallet.user_id == officer.pk:
        raise WalletForbiddenError(
            "An officer cannot reverse a deposit into their own wallet: another officer must.",
            code="own_wallet",
        )
    if hasattr(posting.entry, "reversed_by"):
        raise DepositReversalError(
            f"Deposit {transaction_id} was already reversed.", code="already_reversed"
        )
    try:
        return ledger_reverse(
            entry_id=posting.entry_id,
            reason=f"Deposit reversed (bounced): {reason}"[:255],
            created_by=officer,
        )
    except InsufficientFundsError as exc:
        repayments, others = _spent_by(account_id=posting.account_id, after_id=posting.pk)
        raise DepositReversalError(
            f"The wallet no longer holds the deposit of {format_money(posting.amount)} "
            f"(short by {exc.extra['shortfall']}): reverse the repayments that spent it "
            "first.",
            code="deposit_spent",
            extra={
                "shortfall": exc.extra["shortfall"],
                "repayments": repayments,
                "other_debits": others,
            },
        ) from exc
