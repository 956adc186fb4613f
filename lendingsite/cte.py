"""One statement made of several writes: ``WITH a AS (INSERT …), b AS (UPDATE …) SELECT …``.

The hot money paths (a repayment) write to half a dozen tables. Sent one by one, each
write is a round trip to PostgreSQL and a trip through the ORM; sent as the parts of
one statement, they cost one. PostgreSQL runs every data-modifying part of a ``WITH``
exactly once, in the same snapshot, whether or not the final ``SELECT`` reads it; a
later part may read what an earlier one ``RETURNING``ed (an id), but never sees its
rows in the tables (docs: "Data-Modifying Statements in WITH"). So a part must not
expect to read, from a table, what another part of the same statement writes: pass
the values in, or read the earlier part by its name.

The apps that own the tables add their parts (``ledger.services.ledger_post_with``
for the journal entry, its postings and the balances; ``notifications`` for the
outbox), the service that calls them adds its own and executes. A failing part (a
CHECK, a UNIQUE key) fails the whole statement: nothing of it is written.

Parameters are positional (``%s``): each part keeps its own, in the order of its text.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, connection
from django.db.models import Model
from django.db.models.expressions import DatabaseDefault


@dataclass
class WriteStatement:
    """The parts of one ``WITH`` statement, added in order, executed once."""

    parts: list[tuple[str, str, list]] = field(default_factory=list)
    # A constraint's name -> the error to raise when the statement breaks it.
    refusals: dict[str, Callable[[], Exception]] = field(default_factory=dict)

    def add(self, name: str, sql: str, params: list | tuple = ()) -> str:
        """Add a part named ``name`` (a later part may read it by that name)."""
        if name in self:
            raise ValueError(f"A part named {name!r} is already in the statement.")
        # Runs of whitespace collapse: psycopg converts a statement's text once and
        # remembers it only when it is at most 4 KiB long with at most 50 parameters
        # (MAX_CACHED_STATEMENT_LENGTH, _PARAMS); else it parses the text on every call.
        # Values are parameters, so no part holds a literal whose spaces matter.
        self.parts.append((name, " ".join(sql.split()), list(params)))
        return name

    def add_insert(
        self,
        name: str,
        instances: list[Model],
        *,
        computed: dict[str, str] | None = None,
        returning: str = "",
    ) -> str:
        """INSERT the model ``instances`` (rows of one table) as part ``name``.

        Every concrete field but the primary key is written, as ``Model.save`` would
        (``auto_now_add`` filled in). ``computed``: a column (attname) given by a SQL
        expression instead, which may read earlier parts (``"SELECT id FROM
        ledger_entry"``); constant SQL of the caller's, never user input.
        ``returning``: the columns the part returns (``"id, created_at"``).
        """
        if not instances:
            raise ValueError("Nothing to insert.")
        computed = computed or {}
        meta = instances[0]._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        rows, params = [], []
        for instance in instances:
            values = []
            for f in fields:
                if f.attname in computed:
                    values.append(f"({computed[f.attname]})")
                    continue
                value = f.pre_save(instance, True)
                if isinstance(value, DatabaseDefault):
                    values.append("DEFAULT")
                    continue
                if value is None:  # in the text: fewer parameters (see ``add``)
                    values.append("NULL")
                    continue
                values.append("%s")
                params.append(f.get_db_prep_save(value, connection))
            rows.append(f"({', '.join(values)})")
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        # Names from the model, placeholders for values: no input reaches the text.
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join(rows)}"  # noqa: S608
        if returning:
            sql += f" RETURNING {returning}"
        return self.add(name, sql, params)

    def refuse(self, constraint: str, error: Callable[[], Exception]) -> None:
        """Raise ``error()`` instead of ``IntegrityError`` when ``constraint`` is broken."""
        self.refusals[constraint] = error

    def __contains__(self, name: str) -> bool:
        return any(name == existing for existing, _, _ in self.parts)

    def sql(self, select: str) -> tuple[str, list]:
        """The statement's text and parameters, ending with ``select`` (no parameters)."""
        if not self.parts:
            raise ValueError("A statement needs at least one part.")
        ctes = ", ".join(f"{name} AS ({sql})" for name, sql, _ in self.parts)
        params = [param for _, _, part_params in self.parts for param in part_params]
        return f"WITH {ctes} {select}", params

    def execute(self, select: str = "SELECT 1") -> tuple:
        """Run every part; return the one row of ``select`` (which may read the parts)."""
        sql, params = self.sql(select)
        with connection.cursor() as cursor:
            try:
                cursor.execute(sql, params)
            except IntegrityError as exc:
                diag = getattr(exc.__cause__, "diag", None)
                refusal = self.refusals.get(getattr(diag, "constraint_name", None) or "")
                if refusal is None:
                    raise
                raise refusal() from exc
            return cursor.fetchone()
