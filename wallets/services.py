from decimal import Decimal

from django.conf import settings
from django.db import transaction

from ledger.models import Account, JournalEntry
from ledger.references import deposit_reference, withdrawal_reference
from ledger.selectors import account_system_id
from ledger.services import account_open, ledger_post
from wallets.models import Wallet, WalletTransfer
from wallets.selectors import wallet_account_id


@transaction.atomic
def wallet_open(*, user) -> Wallet:
    """Open an empty wallet, and the ledger account that holds its money, for a user."""
    account = account_open(
        code=f"wallet:{user.pk}",
        name=f"Wallet of {user.email}",
        kind=Account.Kind.LIABILITY,
        keeps_balance=True,
    )
    return Wallet.objects.create(user=user, account=account, currency=settings.CURRENCY)


@transaction.atomic
def wallet_deposit(*, user, amount: Decimal, idempotency_key: str) -> JournalEntry:
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


@transaction.atomic
def wallet_withdraw(*, user, amount: Decimal, idempotency_key: str) -> JournalEntry:
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


def _transfer_record(*, user, kind: str, amount: Decimal, entry: JournalEntry) -> WalletTransfer:
    return WalletTransfer.objects.create(
        wallet_id=user.pk,
        kind=kind,
        amount=amount,
        idempotency_key=entry.idempotency_key,
        entry=entry,
    )
