"""CSV files that spreadsheets and programs read the same way, streamed from a query.

How a cell is written depends on its column's kind, never on the value:

- money: a plain decimal with two places, ``-1500.00`` (no grouping, no currency sign);
- number: as stored (``12.50``, ``36``);
- date: ISO 8601, ``2026-12-01``;
- date and time: ISO 8601 in the lender's time zone with its offset,
  ``2026-12-01T21:33:08+05:30``;
- text: as stored, except that a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading apostrophe, so a spreadsheet shows it as text instead of
  running it as a formula (CSV injection). Only text is guarded: money, numbers and dates
  are formatted here from typed values, so a leading ``-`` there is a minus sign, and a
  spreadsheet must still read ``-1500.00`` as a number.

Rows are read through a server-side cursor inside a transaction, ``CHUNK_ROWS`` at a
time, and written out chunk by chunk: memory stays the same whatever the number of rows.
The settings disable server-side cursors for ``QuerySet.iterator()`` (PgBouncer in
transaction pooling mode cannot keep a cursor across transactions); a cursor declared and
closed inside one transaction is safe there.
"""

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from lendingsite.money import format_money

CHUNK_ROWS = 2000
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

TEXT = "text"
MONEY = "money"
NUMBER = "number"
DATE = "date"
DATETIME = "datetime"


@dataclass(frozen=True)
class Column:
    """One column of an export: its heading, the ORM path of its value and its kind."""

    heading: str
    lookup: str
    kind: str = TEXT


def csv_cell(value, kind: str, *, zone: tzinfo | None = None) -> str:
    """Write one value as its column's kind says (see the module docstring)."""
    if value is None:
        return ""
    return _cell_writer(kind, zone or timezone.get_current_timezone())(value)


def _cell_writer(kind: str, zone: tzinfo) -> Callable[[Any], str]:
    """The function writing a (non-null) cell of this kind; chosen once per column."""
    if kind == MONEY:
        return format_money
    if kind == DATETIME:
        return lambda value: value.astimezone(zone).isoformat(timespec="seconds")
    if kind == DATE:
        return lambda value: value.isoformat()
    if kind == NUMBER:
        return str
    return _text_cell


def _text_cell(value) -> str:
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_rows_stream(
    queryset: QuerySet,
    columns: Sequence[Column],
    *,
    on_end: Callable[[int, bool], None],
    chunk_rows: int | None = None,
) -> Iterator[str]:
    """Yield the CSV of ``queryset`` (heading first), a chunk of rows at a time.

    One query, whatever the number of rows: the rows are fetched ``chunk_rows`` at a time
    (``CHUNK_ROWS`` by default) from a server-side cursor, in one read transaction.
    ``on_end(rows, complete)`` is called once when the stream ends, with the number of
    rows written and whether all were (``False`` when the client went away or the query
    failed).
    """
    chunk_rows = chunk_rows or CHUNK_ROWS
    values = queryset.values_list(*(column.lookup for column in columns))
    sql, params = values.query.get_compiler(using=values.db).as_sql()
    zone = timezone.get_current_timezone()  # the lender's (TIME_ZONE), resolved once
    writers = [_cell_writer(column.kind, zone) for column in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    count = 0
    complete = False
    try:
        writer.writerow([column.heading for column in columns])
        yield _drain(buffer)
        with (
            transaction.atomic(using=values.db),
            connections[values.db].chunked_cursor() as cursor,
        ):
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(chunk_rows):
                # A DISTINCT query may carry its ORDER BY columns after the exported ones.
                writer.writerows(
                    [
                        "" if value is None else write(value)
                        for value, write in zip(row, writers, strict=False)
                    ]
                    for row in chunk
                )
                count += len(chunk)
                yield _drain(buffer)
        complete = True
    finally:
        on_end(count, complete)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
