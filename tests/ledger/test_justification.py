"""``reconcile`` proves every journal entry is the image of exactly one business record
(``entries_justified``) and that each income account equals the sum of its sources
(``income_matches_its_sources``): a planted tamper of each kind is caught."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from ledger.models import Account, JournalEntry
from ledger.reconciliation import Justification, register_justifications
from ledger.services import ledger_reverse
from loans.models import FeeWaiver, Repayment
from loans.services import loan_fee_waive
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, repaid
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.models import WalletTransfer
from wallets.services import wallet_deposit, wallet_withdraw


def reconcile() -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("reconcile", "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def failed(result) -> dict[str, list]:
    return {c["name"]: c["mismatches"] for c in result["checks"] if not c["ok"]}


def system(code: str) -> int:
    return Account.objects.get(code=code).pk


@pytest.fixture
def books(db):
    """One entry of every kind there is today, made by the services.

    Business date 2026-01-01: 5,000.00 deposited, 250.00 withdrawn, a loan of 12,000.00
    (12 months, 12 %) disbursed; its first installment (due 2026-02-01) goes unpaid past
    the 5 days' grace, so the close of 2026-02-06 charges a late fee; an officer waives
    50.00 of it; the borrower pays 2,000.00 (fee first, then interest, then principal); a
    second deposit of 10.00 is reversed.
    """
    set_business_date(date(2026, 1, 1))
    borrower, officer = BorrowerFactory(), OfficerFactory()
    deposit = wallet_deposit(user=borrower, amount=Decimal("5000.00"), idempotency_key="d1")
    withdrawal = wallet_withdraw(user=borrower, amount=Decimal("250.00"), idempotency_key="w1")
    loan = active_loan(borrower, officer)
    close_through(date(2026, 2, 6))
    waiver = loan_fee_waive(
        loan_id=loan.pk,
        installment_number=1,
        amount=Decimal("50.00"),
        reason="First delay",
        officer=officer,
    )
    repayment = repaid(loan, "2000.00")
    mistake = wallet_deposit(user=borrower, amount=Decimal("10.00"), idempotency_key="d2")
    reversal = ledger_reverse(entry_id=mistake.pk, reason="Posted twice")
    loan.refresh_from_db()
    entries = {
        "DEPOSIT": deposit,
        "WITHDRAWAL": withdrawal,
        "LOAN_DISBURSEMENT": loan.disbursement_entry,
        "FEE_CHARGE": JournalEntry.objects.get(kind="FEE_CHARGE"),
        "FEE_WAIVER": waiver.entry,
        "EMI_PAYMENT": repayment.entry,
        "REVERSAL": reversal,
    }
    return {"borrower": borrower, "loan": loan, "repayment": repayment, "entries": entries}


def shift(entry: JournalEntry, *, to_account: int, from_account: int, amount: str) -> None:
    """Move ``amount`` between two legs of a posted entry, keeping it balanced and the
    cached balances in step: what someone with the table owner's rights could do."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_append_only")
        for account, delta in ((to_account, amount), (from_account, f"-{amount}")):
            cursor.execute(
                "UPDATE ledger_posting SET amount = amount + %s "
                "WHERE entry_id = %s AND account_id = %s",
                [delta, entry.pk, account],
            )
            assert cursor.rowcount == 1
            cursor.execute(
                "UPDATE ledger_account SET balance = balance + %s "
                "WHERE id = %s AND balance IS NOT NULL",
                [delta, account],
            )
        cursor.execute("ALTER TABLE ledger_posting ENABLE TRIGGER ledger_posting_append_only")


@pytest.mark.django_db
def test_books_with_every_kind_of_entry_are_clean(books):
    code, result = reconcile()

    assert failed(result) == {}
    assert code == 0
    kinds = set(JournalEntry.objects.values_list("kind", flat=True))
    # Write-offs and recoveries are justified in tests/loans/servicing/test_write_off.py's
    # books, re-allocations in tests/loans/reversals' (their reconcile is clean there).
    assert kinds == set(JournalEntry.Kind.values) - {"WRITE_OFF", "RECOVERY", "REALLOCATION"}


@pytest.mark.django_db
def test_four_statements_moving_interest_income_into_a_wallet_are_caught(books):
    """The issue's example: a balanced entry and the wallet's cached balance, 40.00
    from interest income into the borrower's wallet.

    Interest earned, by hand: the EMI of 12,000.00 at 1 % a month over 12 months is
    1,066.19; installment 1 owes 120.00 interest and 946.19 principal; its late fee is
    2 % of 1,066.19 = 21.32, raised to the 100.00 minimum, 50.00 of it waived. The
    2,000.00 pays the fee's 50.00, then 120.00 + 946.19, and the 883.81 left goes to
    installment 2, whose interest is 1 % of 11,053.81 = 110.54. Earned: 230.54.
    """
    wallet = books["borrower"].wallet.account_id
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (kind, reference, description, idempotency_key, "
            "value_date, created_at) VALUES ('DEPOSIT', 'deposit:planted', '', '', "
            "'2026-02-07', now()) RETURNING id"
        )
        (planted,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES (%s, %s, -40.00)",
            [planted, system("interest_income")],
        )
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES (%s, %s, 40.00)",
            [planted, wallet],
        )
        cursor.execute(
            "UPDATE ledger_account SET balance = balance + 40.00 WHERE id = %s", [wallet]
        )

    code, result = reconcile()

    assert code == 1
    found = failed(result)
    assert set(found) == {"entries_justified", "interest_income", "interest_income_installments"}
    assert found["entries_justified"] == [
        {
            "entry_id": planted,
            "kind": "DEPOSIT",
            "reference": "deposit:planted",
            "problem": "no business record",
            "records": "",
            "details": "",
        }
    ]
    assert books["repayment"].interest_part == Decimal("230.54")
    assert found["interest_income"] == [{"income": "190.54", "earned": "230.54"}]


# For each kind: (the account a tamper adds 10.00 to, the one it takes it from) in the
# kind's own entry, and the checks that fail besides entries_justified (for deposits and
# withdrawals, none: before entries_justified the books were "clean").
TAMPERS = {
    "DEPOSIT": ("wallet", "bank", set()),
    "WITHDRAWAL": ("bank", "wallet", set()),
    "LOAN_DISBURSEMENT": ("wallet", "loans_receivable", {"loan_disbursements", "loans_receivable"}),
    "EMI_PAYMENT": (
        "loans_receivable",
        "interest_income",
        {"loans_receivable", "interest_income", "interest_income_installments"},
    ),
    "FEE_CHARGE": ("fee_income", "fees_receivable", {"fee_income", "fees_receivable"}),
    "FEE_WAIVER": ("fees_receivable", "fee_income", {"fee_income", "fees_receivable"}),
    "REVERSAL": ("bank", "wallet", {"reversals_negate_originals"}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", TAMPERS)
def test_an_entry_changed_from_its_record_is_caught(books, kind):
    """Balanced, the cached balances moved with it: only the records can tell."""
    entry = books["entries"][kind]
    wallet = books["borrower"].wallet.account_id
    gains, loses, checks = TAMPERS[kind]
    account = {name: wallet if name == "wallet" else system(name) for name in (gains, loses)}
    before = dict(entry.postings.values_list("account_id", "amount"))

    shift(entry, to_account=account[gains], from_account=account[loses], amount="10.00")

    code, result = reconcile()
    assert code == 1
    found = failed(result)
    assert set(found) == {"entries_justified", *checks}
    (row,) = found["entries_justified"]
    assert (row["entry_id"], row["kind"], row["problem"]) == (
        entry.pk,
        kind,
        "postings differ from the record",
    )
    expected = sorted(
        f"{Account.objects.get(pk=a).code} owed {before[a]} posted {before[a] + delta}"
        for a, delta in ((account[gains], Decimal("10.00")), (account[loses], -Decimal("10")))
    )
    assert row["details"] == "; ".join(expected)


@pytest.mark.django_db
def test_a_deposit_whose_record_is_gone_is_caught(books):
    deposit = books["entries"]["DEPOSIT"]
    WalletTransfer.objects.filter(entry=deposit)._raw_delete(WalletTransfer.objects.db)

    _, result = reconcile()

    (row,) = failed(result)["entries_justified"]
    assert (row["entry_id"], row["problem"]) == (deposit.pk, "no business record")


@pytest.mark.django_db
def test_a_record_of_another_kind_does_not_justify_an_entry(books):
    """A repayment made to claim the withdrawal's entry: the withdrawal is still justified
    by its own record, and the repayment's real entry is left without one."""
    repayment = books["repayment"]
    withdrawal = books["entries"]["WITHDRAWAL"]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE loans_repayment SET entry_id = %s WHERE id = %s", [withdrawal.pk, repayment.pk]
        )

    _, result = reconcile()

    rows = failed(result)["entries_justified"]
    assert [(r["entry_id"], r["problem"]) for r in rows] == [
        (repayment.entry_id, "no business record")
    ]


@pytest.mark.django_db
def test_an_entry_of_a_kind_without_a_rule_is_caught(books):
    """A new kind (a foreclosure, say) cannot be posted without its app adding a rule."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (kind, reference, description, idempotency_key, "
            "value_date, created_at) VALUES ('FORECLOSURE', 'foreclosure:1', '', '', "
            "'2026-02-07', now()) RETURNING id"
        )
        (entry,) = cursor.fetchone()
        for account, amount in (("loans_receivable", "100.00"), ("bank", "-100.00")):
            cursor.execute(
                "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES (%s, %s, %s)",
                [entry, system(account), amount],
            )

    _, result = reconcile()

    (row,) = failed(result)["entries_justified"]
    assert (row["entry_id"], row["problem"]) == (entry, "no justification rule for its kind")


def test_two_rules_for_one_kind_are_refused():
    with pytest.raises(ValueError, match="Two justification rules for entries of kind 'DEPOSIT'"):
        register_justifications([Justification(kind="DEPOSIT", sql="SELECT 1")])


@pytest.mark.django_db
def test_every_repayment_and_waiver_has_its_record(books):
    """The fixture's figures, for the tests above: one record per entry."""
    assert Repayment.objects.count() == 1
    assert FeeWaiver.objects.count() == 1
    assert WalletTransfer.objects.count() == 3
