"""What the application's database role may do, table by table.

In the deployed topology the schema belongs to an owner role, which runs the migrations;
the application (its instances and its daily jobs) connects as a role that owns nothing
and holds only the rights granted here, by ``manage.py grant_app_role ROLE`` run as the
owner after every ``migrate`` (docs/DEPLOYMENT.md, "Database roles"). Owning nothing, it
can neither ``ALTER`` a table, nor disable or drop a trigger, nor ``TRUNCATE`` (which
fires no row trigger).

Every table of the schema gets ``FULL`` unless its model narrows it with a class
attribute ``app_role_privileges`` (the ledger's journal is ``APPEND_ONLY``; a column list
in parentheses limits an ``UPDATE`` to those columns), or it is listed in ``UNMODELLED``.
A table a later migration adds is covered by the next grant, with ``FULL`` unless its
model says otherwise.
"""

import re

from django.apps import apps

FULL = ("SELECT", "INSERT", "UPDATE", "DELETE")
APPEND_ONLY = ("SELECT", "INSERT")
READ_ONLY = ("SELECT",)

# Tables that are not the project's models, and what the application does with them.
UNMODELLED = {
    # The application reads which migrations ran (checks); only the owner applies them.
    "django_migrations": READ_ONLY,
}

_PRIVILEGE = re.compile(r"^(SELECT|INSERT|UPDATE|DELETE)(?: \((\w+(?:, \w+)*)\))?$")


def app_role_privileges() -> dict[str, tuple[str, ...]]:
    """The narrowed tables: ``{table: privileges}``, from the models and ``UNMODELLED``."""
    narrowed = dict(UNMODELLED)
    for model in apps.get_models(include_auto_created=True):
        privileges = getattr(model, "app_role_privileges", None)
        if privileges is not None:
            for privilege in privileges:
                if not _PRIVILEGE.match(privilege):
                    raise ValueError(f"{model.__name__}.app_role_privileges: {privilege!r}")
            narrowed[model._meta.db_table] = tuple(privileges)
    return narrowed


def grant_statements(*, role: str, tables: list[str], quote) -> list[str]:
    """The SQL that gives ``role`` exactly its rights on ``tables`` (and nothing else)."""
    narrowed = app_role_privileges()
    who = quote(role)
    statements = []
    for table in sorted(tables):
        privileges = narrowed.get(table, FULL)
        # Revoking the table's rights revokes its column rights too.
        statements.append(f"REVOKE ALL ON TABLE {quote(table)} FROM {who}")
        statements.append(f"GRANT {', '.join(privileges)} ON TABLE {quote(table)} TO {who}")
    return statements
