"""Small database helpers the ORM does not offer."""

from collections.abc import Iterator
from contextlib import contextmanager

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
