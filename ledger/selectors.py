from datetime import date
from decimal import Decimal
from functools import cache

from django.db import connection
from django.db.models import Min, Q, QuerySet, Sum
from django.utils import timezone

from ledger.models import Account, BusinessDate, JournalEntry, Posting

SYSTEM_ACCOUNTS = {
    Account.BANK: ("Funding bank (money held at the bank)", Account.Kind.ASSET),
    Account.LOANS_RECEIVABLE: (
        "Loans receivable (principal owed by borrowers)",
        Account.Kind.ASSET,
    ),
    Account.FEES_RECEIVABLE: ("Fees receivable (late fees owed by borrowers)", Account.Kind.ASSET),
    Account.INTEREST_INCOME: ("Interest income", Account.Kind.INCOME),
    Account.FEE_INCOME: ("Fee income", Account.Kind.INCOME),
    Account.LOAN_LOSS: ("Loan losses (principal of loans written off)", Account.Kind.EXPENSE),
    Account.RECOVERY_INCOME: (
        "Recovery income (payments on loans written off)",
        Account.Kind.INCOME,
    ),
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


def posting_list_for_period(*, account_id: int, since: date, until: date) -> QuerySet[Posting]:
    """An account's postings with value dates ``since`` to ``until``, in the order posted."""
    return (
        Posting.objects.filter(
            account_id=account_id, entry__value_date__gte=since, entry__value_date__lte=until
        )
        .select_related("entry")
        .order_by("entry__value_date", "entry_id", "id")
    )


def account_balance_before(*, account_id: int, day: date) -> Decimal:
    """An account's balance at the end of the day before ``day``: its earlier postings."""
    total = Posting.objects.filter(account_id=account_id, entry__value_date__lt=day).aggregate(
        total=Sum("amount")
    )["total"]
    return Decimal("0.00") if total is None else total


def account_first_value_date(*, account_id: int) -> date | None:
    """The value date of an account's first posting (None before its first)."""
    return Posting.objects.filter(account_id=account_id).aggregate(first=Min("entry__value_date"))[
        "first"
    ]


def entry_list(*, entry_ids, references=()) -> QuerySet[JournalEntry]:
    """Journal entries by id or by reference, oldest first."""
    return JournalEntry.objects.filter(Q(pk__in=entry_ids) | Q(reference__in=references)).order_by(
        "pk"
    )


def business_date_get() -> date:
    """The business date: the day being traded (created as today in TIME_ZONE if missing)."""
    current = BusinessDate.objects.filter(pk=1).values_list("date", flat=True).first()
    if current is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_businessdate (id, date, updated_at) VALUES (1, %s, now()) "
                "ON CONFLICT (id) DO NOTHING",
                [timezone.localdate()],
            )
        current = BusinessDate.objects.values_list("date", flat=True).get(pk=1)
    return current
