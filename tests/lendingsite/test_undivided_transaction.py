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
def probe(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE undivided_probe (n int)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE undivided_probe")


def _rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM undivided_probe")
        return cursor.fetchone()[0]


def test_inside_an_undivided_transaction_a_service_opens_no_savepoint(probe):
    with CaptureQueriesContext(connection) as captured, undivided_transaction():
        _service()

    sql = [q["sql"] for q in captured.captured_queries]
    assert not any("SAVEPOINT" in s for s in sql), sql
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

    assert any("SAVEPOINT" in q["sql"] for q in captured.captured_queries)
    assert _rows() == 2  # the caller's row and the second call's; not the refused one's
