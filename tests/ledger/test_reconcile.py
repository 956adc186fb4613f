import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from ledger.models import Posting
from tests.accounts.factories import BorrowerFactory
from wallets.services import wallet_deposit, wallet_withdraw


def reconcile(*args):
    """Run the command; return (exit code, parsed JSON)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("reconcile", "--json", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


@pytest.fixture
def some_activity(db):
    users = BorrowerFactory.create_batch(3)
    for n, user in enumerate(users):
        wallet_deposit(user=user, amount=Decimal("100.00") * (n + 1), idempotency_key=f"d{n}")
        wallet_withdraw(user=user, amount=Decimal("30.25"), idempotency_key=f"w{n}")
    return users


@pytest.mark.django_db
def test_reconcile_is_clean_after_ordinary_activity(some_activity):
    code, result = reconcile()

    assert code == 0
    assert result["clean"] is True
    assert {c["name"] for c in result["checks"]} >= {
        "account_balances",
        "entries_balanced",
        "book_sums_to_zero",
        "system_accounts",
    }


@pytest.mark.django_db
def test_reconcile_finds_a_wallet_balance_changed_behind_the_ledgers_back(some_activity):
    victim = some_activity[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_account SET balance = balance + 1 WHERE id = %s",
            [victim.wallet.account_id],
        )

    code, result = reconcile()

    assert code == 1
    balances = next(c for c in result["checks"] if c["name"] == "account_balances")
    assert balances["mismatches"] == [
        {
            "account_id": victim.wallet.account_id,
            "code": f"wallet:{victim.pk}",
            "balance": "170.75",
            "postings_total": "169.75",
        }
    ]


@pytest.mark.django_db
def test_reconcile_finds_a_posting_tampered_with_the_trigger_disabled(some_activity):
    posting = Posting.objects.filter(account__wallet__user=some_activity[0]).first()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events
        cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_append_only")
        cursor.execute("UPDATE ledger_posting SET amount = amount + 5 WHERE id = %s", [posting.pk])
        cursor.execute("ALTER TABLE ledger_posting ENABLE TRIGGER ledger_posting_append_only")

    code, result = reconcile()

    assert code == 1
    failed = {c["name"] for c in result["checks"] if not c["ok"]}
    assert failed == {
        "account_balances",
        "entries_balanced",
        "book_sums_to_zero",
        "entries_justified",  # the deposit's record says otherwise
    }
    entries = next(c for c in result["checks"] if c["name"] == "entries_balanced")
    assert entries["mismatches"] == [{"entry_id": posting.entry_id, "postings": 2, "total": "5.00"}]


@pytest.mark.django_db
def test_reconcile_table_output_names_the_mismatch(some_activity, capsys):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_account SET balance = 0 WHERE id = %s",
            [some_activity[2].wallet.account_id],
        )

    with pytest.raises(SystemExit) as exited:
        call_command("reconcile")

    out = capsys.readouterr().out
    assert exited.value.code == 1
    assert "MISMATCH" in out and str(some_activity[2].pk) in out and "1 mismatch" in out
