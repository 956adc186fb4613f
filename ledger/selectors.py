from functools import cache

from django.db.models import QuerySet

from ledger.models import Account, JournalEntry, Posting

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


def posting_list(*, account_id: int, before_id: int | None = None) -> QuerySet[Posting]:
    """An account's postings, newest first, with their entries (keyset pages by id).

    The index on (account, -id) serves both the order and ``before_id``.
    """
    postings = Posting.objects.filter(account_id=account_id).select_related("entry").order_by("-id")
    if before_id is not None:
        postings = postings.filter(id__lt=before_id)
    return postings


def entry_list(*, entry_ids) -> QuerySet[JournalEntry]:
    """Journal entries by id, oldest first."""
    return JournalEntry.objects.filter(pk__in=entry_ids).order_by("pk")
