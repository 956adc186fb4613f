"""Reversing a recovery on a written-off loan (a bounced payment): the service, the API,
reconcile, the statement and the borrower's notification.

The loan, worked by hand: 3,000.00 at 1 % a month over 3 months from 10 Jan 2026 (EMI
1,020.07; interest 30.00, 20.10, 10.10), never paid. #1's fee at the close of 15 Feb:
2 % of 1,020.07 = 20.40, raised to the minimum 100.00. Written off on 16 Feb: principal
3,000.00 + #1's interest 30.00 + fee 100.00 = 3,130.00. The wallet holds the 3,000.00
disbursed; 500.00 of it is recovered, then that recovery bounces.
"""

from datetime import date
from decimal import Decimal

import pytest

from ledger.models import Account, JournalEntry
from ledger.selectors import account_get_system
from loans.exceptions import ReversalError
from loans.models import LoanRecovery
from loans.reversals import recovery_reverse
from loans.services import loan_write_off
from loans.statements import loan_statement
from notifications.models import Notification
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.ledger.books import account_balance
from tests.loans.factories import active_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.selectors import wallet_get_for_user

D = Decimal


def _balance(code: str) -> Decimal:
    return account_balance(account_id=account_get_system(code).pk)


@pytest.fixture
def recovered(db):
    """(loan, recovery of 500.00 on 16 Feb); the business date is then 20 Feb."""
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), principal="3000.00", rate="12.00", tenure=3)
    close_through(date(2026, 2, 15))
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Absconded")
    recovery = repaid(loan, "500.00", key="recovery")
    assert isinstance(recovery, LoanRecovery)
    close_through(date(2026, 2, 19))
    return loan, recovery


@pytest.mark.django_db
def test_a_bounced_recovery_goes_back_to_the_wallet_and_can_be_recovered_again(recovered):
    loan, recovery = recovered
    officer = OfficerFactory()
    assert wallet_get_for_user(user=loan.borrower).balance == D("2500.00")

    recovery_reverse(
        loan_id=loan.pk, recovery_id=recovery.pk, officer=officer, reason="Cheque bounced"
    )

    recovery.refresh_from_db()
    loan.refresh_from_db()
    assert (recovery.status, recovery.reversed_on, recovery.reversed_by) == (
        LoanRecovery.Status.REVERSED,
        date(2026, 2, 20),
        officer,
    )
    assert recovery.reversal_entry.reverses_id == recovery.entry_id
    assert (loan.status, loan.recovered_amount, loan.written_off_amount) == (
        "WRITTEN_OFF",
        D("0.00"),
        D("3130.00"),
    )
    assert wallet_get_for_user(user=loan.borrower).balance == D("3000.00")
    assert _balance(Account.RECOVERY_INCOME) == D("0.00")
    assert -_balance(Account.LOAN_LOSS) == D("3000.00")  # the loss stays booked
    (notified,) = Notification.objects.filter(kind="recovery_reversed", loan_id=loan.pk)
    assert notified.payload == {
        "amount": "500.00",
        "value_date": "2026-02-16",
        "reason": "Cheque bounced",
        "written_off_amount": "3130.00",
        "recovered_amount": "0.00",
        "still_owed": "3130.00",
    }
    assert_books_clean()
    # All of it can be recovered again: 3,130.00, not 2,630.00.
    repaid(loan, "3000.00", key="again")
    loan.refresh_from_db()
    assert loan.recovered_amount == D("3000.00")
    assert_books_clean()


@pytest.mark.django_db
def test_the_statement_shows_the_recovery_and_its_reversal(recovered):
    loan, recovery = recovered
    recovery_reverse(
        loan_id=loan.pk, recovery_id=recovery.pk, officer=OfficerFactory(), reason="Bounced"
    )

    statement = loan_statement(loan=loan)

    last_two = [(x.on, x.kind, x.recovered, x.balance) for x in statement.lines[-2:]]
    assert last_two == [
        (date(2026, 2, 16), "RECOVERY", D("500.00"), D("0.00")),
        (date(2026, 2, 20), "REVERSAL", D("-500.00"), D("0.00")),
    ]
    assert statement.lines[-2].description == (
        "Recovery from the wallet: 500.00 (reversed on 2026-02-20)"
    )
    assert statement.lines[-1].description == (
        "Reversal of the recovery of 2026-02-16: 500.00 back to the wallet; Bounced"
    )
    assert (statement.totals.recovered, statement.recovered_amount) == (D("0.00"), D("0.00"))


@pytest.mark.django_db
def test_reversing_twice_is_refused_and_moves_nothing(recovered):
    loan, recovery = recovered
    officer = OfficerFactory()
    recovery_reverse(loan_id=loan.pk, recovery_id=recovery.pk, officer=officer, reason="x")
    entries = JournalEntry.objects.count()

    with pytest.raises(ReversalError) as refused:
        recovery_reverse(loan_id=loan.pk, recovery_id=recovery.pk, officer=officer, reason="x")

    assert refused.value.code == "already_reversed"
    assert JournalEntry.objects.count() == entries


@pytest.mark.django_db
def test_the_api_reverses_for_officers_and_names_every_refusal(recovered):
    loan, recovery = recovered
    url = f"/api/loans/{loan.pk}/recoveries/{recovery.pk}/reverse"
    officer = client_for(OfficerFactory())
    entries = JournalEntry.objects.count()

    assert client_for(loan.borrower).post(url, {"reason": "x"}, format="json").status_code == 403
    missing = officer.post(url, {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    other = f"/api/loans/{loan.pk}/recoveries/{recovery.pk + 1000}/reverse"
    assert officer.post(other, {"reason": "x"}, format="json").status_code == 404
    assert JournalEntry.objects.count() == entries  # nothing was written

    done = officer.post(url, {"reason": "Cheque bounced"}, format="json")

    assert done.status_code == 200
    body = done.json()
    assert (body["recovery"]["status"], body["recovery"]["reversal_reason"]) == (
        "REVERSED",
        "Cheque bounced",
    )
    assert body["loan"]["recovered_amount"] == "0.00"
    again = officer.post(url, {"reason": "Cheque bounced"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_reversed")


@pytest.mark.django_db(transaction=True)
def test_two_officers_reversing_the_same_recovery_at_once_reverse_it_once():
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), principal="3000.00", rate="12.00", tenure=3)
    close_through(date(2026, 2, 15))
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Absconded")
    recovery = repaid(loan, "500.00", key="recovery")
    officers = OfficerFactory.create_batch(2)

    results = run_concurrently(
        [
            lambda o=o: client_for(o).post(
                f"/api/loans/{loan.pk}/recoveries/{recovery.pk}/reverse",
                {"reason": "Cheque bounced"},
                format="json",
            )
            for o in officers
        ]
    )

    assert sorted(r.status_code for r in results) == [200, 409]
    refused = next(r for r in results if r.status_code == 409)
    assert refused.json()["code"] == "already_reversed"
    assert JournalEntry.objects.filter(kind="REVERSAL").count() == 1
    assert wallet_get_for_user(user=loan.borrower).balance == D("3000.00")
    assert_books_clean()
