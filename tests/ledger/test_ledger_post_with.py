"""``ledger_post_with``: the ledger's parts of a caller's one-statement write."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from ledger.exceptions import DuplicateEntryError, InsufficientFundsError, UnbalancedEntryError
from ledger.models import Account, JournalEntry, Posting
from ledger.selectors import account_get_system
from ledger.services import ledger_post_with
from lendingsite.cte import WriteStatement
from tests.accounts.factories import BorrowerFactory
from tests.ledger.books import account_balance
from wallets.models import Wallet
from wallets.services import wallet_deposit

D = Decimal
DAY = date(2026, 3, 2)


@pytest.fixture
def wallet(borrower):
    wallet_deposit(user=borrower, amount=D("100.00"), idempotency_key="fund")
    return Wallet.objects.select_related("account").get(user=borrower)


@pytest.fixture
def income(db):
    return account_get_system(Account.INTEREST_INCOME)


def post(wallet, income, *, amount, balance=None, reference="pay:1", **kwargs):
    statement = WriteStatement()
    ledger_post_with(
        statement,
        kind=JournalEntry.Kind.EMI_PAYMENT,
        reference=reference,
        legs=[(wallet.account_id, -amount), (income.pk, amount)],
        locked_balances={wallet.account_id: wallet.balance if balance is None else balance},
        value_date=DAY,
        now=timezone.now(),
        **kwargs,
    )
    return statement.execute("SELECT id FROM ledger_entry")


@pytest.mark.django_db
def test_one_statement_writes_the_entry_its_postings_and_the_wallet_balance(wallet, income):
    (entry_id,) = post(wallet, income, amount=D("30.25"), description="EMI")

    entry = JournalEntry.objects.get(pk=entry_id)
    assert (entry.reference, entry.value_date, entry.description) == ("pay:1", DAY, "EMI")
    assert sorted(Posting.objects.filter(entry=entry).values_list("amount", flat=True)) == [
        D("-30.25"),
        D("30.25"),
    ]
    wallet.account.refresh_from_db()
    # 100.00 deposited - 30.25 paid, worked by hand; and the postings agree.
    assert wallet.account.balance == D("69.75")
    assert account_balance(account_id=wallet.account_id) == D("69.75")


@pytest.mark.django_db
def test_it_refuses_a_payment_above_the_locked_balance_before_adding_a_part(wallet, income):
    statement = WriteStatement()
    with pytest.raises(InsufficientFundsError) as refused:
        ledger_post_with(
            statement,
            kind=JournalEntry.Kind.EMI_PAYMENT,
            reference="pay:1",
            legs=[(wallet.account_id, D("-100.01")), (income.pk, D("100.01"))],
            locked_balances={wallet.account_id: D("100.00")},
            value_date=DAY,
            now=timezone.now(),
        )
    assert refused.value.extra["shortfall"] == "0.01"
    assert statement.parts == []


@pytest.mark.django_db
def test_it_refuses_unbalanced_legs(wallet, income):
    with pytest.raises(UnbalancedEntryError):
        ledger_post_with(
            WriteStatement(),
            kind=JournalEntry.Kind.EMI_PAYMENT,
            reference="pay:1",
            legs=[(wallet.account_id, D("-10.00")), (income.pk, D("9.99"))],
            locked_balances={wallet.account_id: D("100.00")},
            value_date=DAY,
            now=timezone.now(),
        )


@pytest.mark.django_db
def test_a_wallet_the_caller_did_not_lock_is_a_programming_error(wallet, income):
    other = Wallet.objects.get(user=BorrowerFactory())
    with pytest.raises(ValueError, match="neither locked"):
        ledger_post_with(
            WriteStatement(),
            kind=JournalEntry.Kind.EMI_PAYMENT,
            reference="pay:1",
            legs=[(wallet.account_id, D("-10.00")), (other.account_id, D("10.00"))],
            locked_balances={wallet.account_id: D("100.00")},
            value_date=DAY,
            now=timezone.now(),
        )


@pytest.mark.django_db
def test_a_reference_used_twice_is_refused_and_the_second_writes_nothing(wallet, income):
    post(wallet, income, amount=D("10.00"))
    wallet.account.refresh_from_db()

    with pytest.raises(DuplicateEntryError), transaction.atomic():
        post(wallet, income, amount=D("5.00"))

    wallet.account.refresh_from_db()
    assert wallet.account.balance == D("90.00")
    assert JournalEntry.objects.filter(reference="pay:1").count() == 1
