from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger.exceptions import DuplicateEntryError, InsufficientFundsError, UnbalancedEntryError
from ledger.models import Account, JournalEntry, Posting
from ledger.selectors import account_get_system
from ledger.services import ledger_post, ledger_reverse
from tests.ledger.books import account_balance
from wallets.models import Wallet
from wallets.services import wallet_deposit

D = Decimal


@pytest.fixture
def wallet(borrower):
    return Wallet.objects.get(user=borrower)


@pytest.fixture
def bank(db):
    return account_get_system(Account.BANK)


@pytest.mark.django_db
def test_post_writes_balanced_postings_and_moves_the_cached_balance(wallet, bank):
    entry = ledger_post(
        kind=JournalEntry.Kind.DEPOSIT,
        reference="test:1",
        legs=[(wallet.account_id, D("125.50")), (bank.pk, D("-125.50"))],
    )

    wallet.refresh_from_db()
    assert wallet.balance == D("125.50")
    assert sorted(entry.postings.values_list("amount", flat=True)) == [D("-125.50"), D("125.50")]
    assert account_balance(account_id=bank.pk) == D("-125.50")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "amounts",
    [[D("10.00")], [D("10.00"), D("-9.99")], [D("10.001"), D("-10.001")], [D("0"), D("0")]],
    ids=["one-leg", "unbalanced", "sub-cent", "zero"],
)
def test_post_refuses_malformed_legs(wallet, bank, amounts):
    accounts = [wallet.account_id, bank.pk]
    legs = list(zip(accounts, amounts, strict=False))

    with pytest.raises(UnbalancedEntryError), transaction.atomic():
        ledger_post(kind=JournalEntry.Kind.DEPOSIT, reference="bad", legs=legs)

    assert not JournalEntry.objects.exists()


@pytest.mark.django_db
def test_post_refuses_to_take_a_wallet_below_zero_and_writes_nothing(wallet, bank):
    wallet_deposit(user=wallet.user, amount=D("40.00"), idempotency_key="k1")

    with (
        pytest.raises(InsufficientFundsError, match=r"short by 10\.00") as caught,
        transaction.atomic(),
    ):
        ledger_post(
            kind=JournalEntry.Kind.WITHDRAWAL,
            reference="w:1",
            legs=[(wallet.account_id, D("-50.00")), (bank.pk, D("50.00"))],
        )

    assert caught.value.extra == {"available": "40.00", "requested": "50.00", "shortfall": "10.00"}
    wallet.refresh_from_db()
    assert wallet.balance == D("40.00")
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_the_same_reference_cannot_be_posted_twice(wallet, bank):
    legs = [(wallet.account_id, D("1.00")), (bank.pk, D("-1.00"))]
    ledger_post(kind=JournalEntry.Kind.DEPOSIT, reference="once", legs=legs)

    with pytest.raises(DuplicateEntryError), transaction.atomic():
        ledger_post(kind=JournalEntry.Kind.DEPOSIT, reference="once", legs=legs)

    wallet.refresh_from_db()
    assert wallet.balance == D("1.00")


@pytest.mark.django_db
def test_reversal_negates_every_posting(wallet, bank):
    entry = wallet_deposit(user=wallet.user, amount=D("70.00"), idempotency_key="k")

    reversal = ledger_reverse(entry_id=entry.pk, reason="sent in error")

    wallet.refresh_from_db()
    assert wallet.balance == D("0.00")
    assert reversal.reverses == entry
    assert account_balance(account_id=bank.pk) == D("0.00")


def _raw(sql, params=None):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_posting SET amount = amount * 2",
        "DELETE FROM ledger_posting",
        "UPDATE ledger_journalentry SET description = 'edited'",
        "DELETE FROM ledger_journalentry",
    ],
)
def test_ledger_rows_cannot_be_updated_or_deleted_even_with_raw_sql(wallet, sql):
    wallet_deposit(user=wallet.user, amount=D("5.00"), idempotency_key="k")

    with pytest.raises(IntegrityError, match="append-only"):
        _raw(sql)

    assert Posting.objects.filter(amount=D("5.00")).count() == 1


@pytest.mark.django_db
def test_orm_update_and_delete_are_refused_too(wallet):
    entry = wallet_deposit(user=wallet.user, amount=D("5.00"), idempotency_key="k")

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Posting.objects.filter(entry=entry).update(amount=D("6.00"))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(description="edited")
    with pytest.raises(IntegrityError), transaction.atomic():
        entry.delete()  # refused by PROTECT first, and by the trigger behind it


@pytest.mark.django_db
def test_an_unbalanced_entry_written_with_raw_sql_is_refused_at_commit(wallet):
    """The deferred trigger fires at COMMIT; SET CONSTRAINTS ... IMMEDIATE makes it fire now."""
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO ledger_journalentry (kind, reference, description, idempotency_key,"
            " created_at, value_date) VALUES ('DEPOSIT', 'raw', '', '', now(), current_date)"
            " RETURNING id"
        )
        (entry_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES (%s, %s, 10)",
            [entry_id, wallet.account_id],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert not JournalEntry.objects.filter(reference="raw").exists()


@pytest.mark.django_db
def test_an_entry_without_postings_is_refused(db):
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        JournalEntry.objects.create(
            kind=JournalEntry.Kind.DEPOSIT, reference="empty", value_date=date(2026, 1, 1)
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_the_database_refuses_a_negative_wallet_balance(wallet):
    with pytest.raises(IntegrityError, match="ledger_account_balance_non_negative"):
        _raw("UPDATE ledger_account SET balance = -0.01 WHERE id = %s", [wallet.account_id])


@pytest.mark.django_db
def test_a_zero_posting_is_refused_by_the_database(wallet, bank):
    entry = wallet_deposit(user=wallet.user, amount=D("1.00"), idempotency_key="k")

    with pytest.raises(IntegrityError, match="ledger_posting_amount_nonzero"):
        _raw(
            "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES (%s, %s, 0)",
            [entry.pk, bank.pk],
        )
