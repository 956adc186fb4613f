from functools import lru_cache

from django.db.models import QuerySet

from accounts.models import User
from ledger.models import Posting
from ledger.selectors import posting_list
from wallets.models import Wallet


def wallet_get_for_user(*, user: User) -> Wallet:
    """The user's wallet with its ledger account (and so its balance): one query."""
    return Wallet.objects.select_related("account").get(user=user)


def wallet_get_for_account(*, account_id: int) -> Wallet | None:
    """The wallet on a ledger account, with the account (None: a system account)."""
    return Wallet.objects.select_related("account").filter(account_id=account_id).first()


@lru_cache(maxsize=65536)
def _wallet_account_id(user_id: int) -> int:
    # Cleared on post_migrate (wallets.apps): after migrations or a flush of the tables.
    return Wallet.objects.values_list("account_id", flat=True).get(user_id=user_id)


def wallet_account_id(*, user_id: int) -> int:
    """The ledger account behind a user's wallet (fixed for the wallet's life: cached)."""
    return _wallet_account_id(user_id)


def wallet_transaction_list(*, user: User, before_id: int | None = None) -> QuerySet[Posting]:
    """The postings on the user's wallet account, newest first, with their entries."""
    return posting_list(account_id=wallet_account_id(user_id=user.pk), before_id=before_id)
