from decimal import Decimal

from django.conf import settings
from django.db import transaction

from ledger.models import Account, JournalEntry
from ledger.selectors import account_system_id
from ledger.services import ledger_post
from wallets.models import Wallet
from wallets.selectors import wallet_account_id


@transaction.atomic
def wallet_open(*, user) -> Wallet:
    """Open an empty wallet, and its ledger account, for a new user."""
    account = Account.objects.create(
        code=f"wallet:{user.pk}", name=f"Wallet of {user.email}", kind=Account.Kind.LIABILITY
    )
    return Wallet.objects.create(user=user, account=account, currency=settings.CURRENCY)


@transaction.atomic
def wallet_deposit(*, user, amount: Decimal, idempotency_key: str) -> JournalEntry:
    """Credit the wallet with a (simulated) transfer in from the borrower's bank.

    Ledger: bank (asset) debited, wallet (liability) credited. Locks: the wallet.
    """
    return ledger_post(
        kind=JournalEntry.Kind.DEPOSIT,
        reference=f"deposit:{user.pk}:{idempotency_key}",
        legs=[
            (wallet_account_id(user_id=user.pk), amount),
            (account_system_id(Account.BANK), -amount),
        ],
        description="Deposit from linked bank account",
        idempotency_key=idempotency_key,
        created_by=user,
    )


@transaction.atomic
def wallet_withdraw(*, user, amount: Decimal, idempotency_key: str) -> JournalEntry:
    """Pay money out of the wallet to the borrower's bank.

    Ledger: wallet debited, bank credited. Locks: the wallet. Raises
    ``InsufficientFundsError`` (naming the shortfall) when the balance is too small.
    """
    return ledger_post(
        kind=JournalEntry.Kind.WITHDRAWAL,
        reference=f"withdraw:{user.pk}:{idempotency_key}",
        legs=[
            (wallet_account_id(user_id=user.pk), -amount),
            (account_system_id(Account.BANK), amount),
        ],
        description="Withdrawal to linked bank account",
        idempotency_key=idempotency_key,
        created_by=user,
    )
