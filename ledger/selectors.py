from decimal import Decimal
from functools import cache

from django.db.models import Sum

from ledger.models import Account, Posting

SYSTEM_ACCOUNTS = {
    Account.BANK: ("Funding bank (money held at the bank)", Account.Kind.ASSET),
    Account.LOANS_RECEIVABLE: (
        "Loans receivable (principal owed by borrowers)",
        Account.Kind.ASSET,
    ),
    Account.INTEREST_INCOME: ("Interest income", Account.Kind.INCOME),
    Account.FEE_INCOME: ("Fee income", Account.Kind.INCOME),
}


def account_get_system(code: str) -> Account:
    """A system account by code (created by migration; recreated here if ever missing)."""
    name, kind = SYSTEM_ACCOUNTS[code]
    account, _ = Account.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})
    return account


@cache
def account_system_id(code: str) -> int:
    """The id of a system account, read once per process (system accounts never change).

    The cache is cleared whenever migrations run or the tables are flushed (``post_migrate``,
    see ``ledger.apps``), the only times an id could change.
    """
    return account_get_system(code).pk


def account_balance(*, account_id: int) -> Decimal:
    """The sum of an account's postings (credit-positive).

    System accounts keep no cached balance: every loan touches them, and a cached
    counter would be one locked row serialising all traffic. The covering index on
    (account, id) INCLUDE (amount) keeps this aggregate an index-only scan.
    """
    total = Posting.objects.filter(account_id=account_id).aggregate(total=Sum("amount"))["total"]
    return total if total is not None else Decimal("0.00")
