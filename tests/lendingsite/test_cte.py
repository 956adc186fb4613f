"""``WriteStatement``: several writes sent as one statement."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from ledger.models import Account
from lendingsite.cte import WriteStatement


class Refused(Exception):
    pass


@pytest.mark.django_db
def test_a_later_part_reads_what_an_earlier_one_returns_and_all_run_once():
    statement = WriteStatement()
    statement.add(
        "first",
        "INSERT INTO ledger_account (code, name, kind, balance, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, now(), now()) RETURNING id",
        ["cte-1", "First", Account.Kind.ASSET, Decimal("1.00")],
    )
    statement.add(
        "second",
        "INSERT INTO ledger_account (code, name, kind, created_at, updated_at) "
        "SELECT %s || first.id, %s, %s, now(), now() FROM first RETURNING id",
        ["cte-after-", "Second", Account.Kind.ASSET],
    )
    first_id, second_id = statement.execute(
        "SELECT (SELECT id FROM first), (SELECT id FROM second)"
    )

    assert Account.objects.get(pk=first_id).balance == Decimal("1.00")
    assert Account.objects.get(pk=second_id).code == f"cte-after-{first_id}"
    assert Account.objects.filter(code__startswith="cte-").count() == 2


@pytest.mark.django_db
def test_a_part_nobody_reads_runs_too():
    statement = WriteStatement()
    statement.add(
        "unread",
        "INSERT INTO ledger_account (code, name, kind, created_at, updated_at) "
        "VALUES ('cte-unread', 'Unread', 'ASSET', now(), now())",
    )
    statement.execute()

    assert Account.objects.filter(code="cte-unread").exists()


@pytest.mark.django_db
def test_add_insert_writes_model_rows_as_save_would_with_a_computed_column():
    statement = WriteStatement()
    statement.add(
        "first",
        "INSERT INTO ledger_account (code, name, kind, created_at, updated_at) "
        "VALUES ('cte-first', 'First', 'ASSET', now(), now()) RETURNING id",
    )
    statement.add_insert(
        "accounts",
        [
            Account(code="cte-a", name="", kind=Account.Kind.ASSET),
            Account(code="cte-b", name="", kind=Account.Kind.INCOME, balance=Decimal("2.50")),
        ],
        computed={"name": "SELECT 'after ' || id FROM first"},
        returning="id",
    )
    (first_id,) = statement.execute("SELECT (SELECT id FROM first)")

    rows = {a.code: a for a in Account.objects.filter(code__in=["cte-a", "cte-b"])}
    assert rows["cte-a"].name == rows["cte-b"].name == f"after {first_id}"
    assert (rows["cte-a"].balance, rows["cte-b"].balance) == (None, Decimal("2.50"))
    assert rows["cte-b"].kind == Account.Kind.INCOME
    assert rows["cte-a"].created_at is not None  # auto_now_add, filled in as by save()


@pytest.mark.django_db
def test_a_broken_constraint_raises_the_named_refusal_and_writes_nothing():
    Account.objects.create(code="cte-taken", name="Taken", kind=Account.Kind.ASSET)
    statement = WriteStatement()
    statement.add(
        "fresh",
        "INSERT INTO ledger_account (code, name, kind, created_at, updated_at) "
        "VALUES ('cte-fresh', 'Fresh', 'ASSET', now(), now())",
    )
    statement.add(
        "taken",
        "INSERT INTO ledger_account (code, name, kind, created_at, updated_at) "
        "VALUES ('cte-taken', 'Again', 'ASSET', now(), now())",
    )
    statement.refuse("ledger_account_code_key", Refused)

    with pytest.raises(Refused), transaction.atomic():
        statement.execute()

    assert not Account.objects.filter(code="cte-fresh").exists()


@pytest.mark.django_db
def test_an_unnamed_constraint_still_raises_integrity_error():
    statement = WriteStatement()
    statement.add(
        "negative",
        "INSERT INTO ledger_account (code, name, kind, balance, created_at, updated_at) "
        "VALUES ('cte-neg', 'Negative', 'ASSET', -1, now(), now())",
    )
    statement.refuse("some_other_constraint", Refused)

    with pytest.raises(IntegrityError), transaction.atomic():
        statement.execute()


def test_two_parts_may_not_share_a_name():
    statement = WriteStatement()
    statement.add("a", "SELECT 1")
    with pytest.raises(ValueError, match="already"):
        statement.add("a", "SELECT 2")


def test_the_parameters_follow_the_parts_in_order():
    statement = WriteStatement()
    statement.add("a", "SELECT %s, %s", [1, 2])
    statement.add("b", "SELECT %s", [3])

    sql, params = statement.sql("SELECT * FROM a")
    assert params == [1, 2, 3]
    assert sql.index("a AS (") < sql.index("b AS (")
