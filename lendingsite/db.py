"""Small database helpers the ORM does not offer."""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from django.db import connection, transaction
from django.db.models import Model


def insert_unless_conflict(instance: Model, *, conflict_columns: tuple[str, ...]) -> bool:
    """INSERT ``instance`` unless a row with the same ``conflict_columns`` exists.

    ``INSERT … ON CONFLICT (…) DO NOTHING RETURNING id``: one statement, and no savepoint
    is needed to carry on after a conflict (an ``IntegrityError`` would abort the whole
    transaction). Sets ``instance.pk`` and returns True when the row was inserted.
    Fields are written as given: set ``auto_now_add`` values before calling.
    """
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    target = ", ".join(quote(c) for c in conflict_columns)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({target}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    values = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


@contextmanager
def read_snapshot() -> Iterator[None]:
    """Read in one REPEATABLE READ, READ ONLY transaction: the reads agree with each other.

    Several queries that make up one figure (a statement's lines and its schedule) must
    not see a payment committed between two of them. Inside a caller's transaction the
    caller's isolation holds (its reads already see one state of the rows it locked).
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


_undivided: ContextVar[bool] = ContextVar("undivided_transaction", default=False)
P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def undivided_transaction() -> Iterator[None]:
    """A transaction that any error rolls back whole, so the services in it need no savepoint.

    Opened by the idempotency wrapper around a money-moving request: there a refusal
    rolls everything back and is recorded afterwards, so a service's own savepoint (two
    more statements, ``SAVEPOINT`` and ``RELEASE``) would protect nothing. Services
    decorated with ``service_atomic`` skip theirs inside it. Explicit
    ``transaction.atomic()`` blocks keep theirs.
    """
    token = _undivided.set(True)
    try:
        with transaction.atomic():
            yield
    finally:
        _undivided.reset(token)


def service_atomic(func: Callable[P, R]) -> Callable[P, R]:
    """``transaction.atomic`` for a service, without a savepoint in an undivided transaction.

    Anywhere else (the console, a command, a test's transaction) it is
    ``transaction.atomic``: its own transaction, or a savepoint in the caller's, so a
    caller can catch its refusal and carry on.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(savepoint=not _undivided.get()):
            return func(*args, **kwargs)

    return wrapper
