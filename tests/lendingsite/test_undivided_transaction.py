"""``undivided_transaction`` and ``service_atomic``: savepoints only where they protect."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lendingsite.db import service_atomic, undivided_transaction


class Refused(Exception):
    pass


@service_atomic
def _service(*, fail: bool = False) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO undivided_probe VALUES (1)")
    if fail:
        raise Refused


@pytest.fixture
def probe(db):
    # Inside the test's transaction (a transactional test would flush the migrations'
    # rows for the tests after it): the blocks below are savepoints of it, as they are
    # of a request's transaction.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE undivided_probe (n int)")


def _rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM undivided_probe")
        return cursor.fetchone()[0]


def test_inside_an_undivided_transaction_a_service_opens_no_savepoint(probe):
    with CaptureQueriesContext(connection) as captured, undivided_transaction():
        _service()

    sql = [q["sql"] for q in captured.captured_queries]
    # The block's own savepoint (the test's transaction stands for the request's), and
    # none for the service.
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1, sql
    assert _rows() == 1


def test_an_error_rolls_the_undivided_transaction_back_whole(probe):
    with pytest.raises(Refused), undivided_transaction():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO undivided_probe VALUES (0)")
        _service(fail=True)

    assert _rows() == 0


def test_elsewhere_a_service_keeps_its_savepoint_and_its_caller_carries_on(probe):
    from django.db import transaction

    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO undivided_probe VALUES (0)")
        with pytest.raises(Refused):
            _service(fail=True)
        _service()  # the caller's transaction is still usable

    assert sum(q["sql"].startswith("SAVEPOINT") for q in captured.captured_queries) == 3
    assert _rows() == 2  # the caller's row and the second call's; not the refused one's
