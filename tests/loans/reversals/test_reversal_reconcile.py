"""reconcile proves the reversal rules: each reversal negates exactly its original, and
installments equal the allocations of the standing repayments."""

from decimal import Decimal

import pytest
from django.db import connection

from ledger.models import Account, JournalEntry
from ledger.selectors import account_system_id
from ledger.services import ledger_post
from loans.reversals import repayment_reverse
from tests.accounts.factories import OfficerFactory
from tests.ledger.test_reconcile import reconcile
from tests.loans.reversals.test_repayment_reverse import _loan, _three_payments_on_time

D = Decimal


def _failed(result) -> dict:
    return {c["name"]: c["mismatches"] for c in result["checks"] if not c["ok"]}


@pytest.mark.django_db
def test_a_reversal_that_does_not_negate_its_original_is_found():
    loan = _loan()
    first, _, _ = _three_payments_on_time(loan)
    # A REVERSAL entry that takes 1.00 less back than the payment put in.
    wrong = ledger_post(
        kind=JournalEntry.Kind.REVERSAL,
        reference="reversal:wrong",
        legs=[
            (account_system_id(Account.INTEREST_INCOME), D("-119.00")),
            (account_system_id(Account.BANK), D("119.00")),
        ],
        reverses=first.entry,
    )

    code, result = reconcile()

    assert code == 1
    failed = _failed(result)
    negated = failed["reversals_negate_originals"]
    assert {(m["reversal_id"], m["amount"]) for m in negated} >= {
        (wrong.pk, "-119.00"),  # posted, not in the original
        (wrong.pk, "-120.00"),  # the original's interest, not negated
    }
    # The repayment stands, yet its entry is reversed.
    assert failed["repayment_reversals"][0]["repayment_id"] == first.pk


@pytest.mark.django_db
def test_installments_that_differ_from_the_standing_allocations_are_found():
    officer = OfficerFactory()
    loan = _loan(officer)
    first, second, _ = _three_payments_on_time(loan)
    repayment_reverse(loan_id=loan.pk, repayment_id=first.pk, officer=officer, reason="Error")
    assert reconcile()[0] == 0
    # Behind the service's back: the reversed repayment's allocation put back on #1.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE loans_repaymentallocation SET principal = principal + 1 "
            "WHERE repayment_id = %s",
            [second.pk],
        )

    code, result = reconcile()

    assert code == 1
    failed = _failed(result)
    assert set(failed) == {"loan_repayments", "repayment_allocations", "installment_allocations"}
    assert failed["repayment_allocations"][0]["repayment_id"] == second.pk
