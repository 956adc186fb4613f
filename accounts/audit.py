"""Who made a change to users and permissions: the actor of the audit trail.

The trail itself is written by PostgreSQL triggers (migration ``0006_user_audit_trail``,
``accounts.models.UserAuditEvent``), whatever path makes the change. What only the
application knows is *who asked*: the signed-in user of the request (admin or API) or
the ``manage.py`` command being run. It tells the triggers by prefixing each write to
the audited tables with two transaction-local settings in the same statement::

    SELECT set_config('lending.actor_id', '7', true),
           set_config('lending.actor_source', 'POST /admin/…', true); UPDATE accounts_user …

The same statement, because in autocommit a separate one would be its own transaction,
and a settings change made in a savepoint that is rolled back is undone with it. It
stays in the transaction, so it is safe under PgBouncer's transaction pooling. A change
made outside any request or command (a shell, plain SQL) is recorded with no actor, and
the role that connected.
"""

import getpass
import os
import sys
from contextvars import ContextVar

from django.db.backends.signals import connection_created

# Any statement that may fire an audit trigger names one of these tables.
AUDITED_TABLES = ("accounts_user", "auth_group")
_WRITES = ("INSERT", "UPDATE", "DELETE")

_request: ContextVar = ContextVar("audit_request", default=None)
_process_source: str = ""


def _command_source(argv: list[str]) -> str:
    """``manage.py createofficer (os user root)`` for a management command, else empty."""
    if len(argv) < 2 or os.path.basename(argv[0]) != "manage.py":
        return ""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = str(os.getuid())
    return f"manage.py {argv[1]} (os user {who})"[:255]


def _actor() -> tuple[str, str] | None:
    """(actor id or "", source) of the current request or command, or None."""
    request = _request.get()
    if request is None:
        return ("", _process_source) if _process_source else None
    user = getattr(request, "user", None)
    actor_id = str(user.pk) if user is not None and user.is_authenticated else ""
    return actor_id, f"{request.method} {request.path}"[:255]


def _literal(value: str, *, has_params: bool) -> str:
    quoted = "'" + value.replace("'", "''") + "'"
    return quoted.replace("%", "%%") if has_params else quoted


def tell_the_audit_trail_who(execute, sql, params, many, context):
    """Execute wrapper: prefix writes to the audited tables with the actor's settings."""
    if many or not isinstance(sql, str) or not sql.lstrip()[:6].upper().startswith(_WRITES):
        return execute(sql, params, many, context)
    if not any(table in sql for table in AUDITED_TABLES):
        return execute(sql, params, many, context)
    actor = _actor()
    if actor is None or context["connection"].settings_dict["OPTIONS"].get("server_side_binding"):
        # Server-side binding takes one statement at a time (docs/DEPLOYMENT.md keeps it off).
        return execute(sql, params, many, context)
    actor_id, source = actor
    has_params = params is not None
    prefix = (
        f"SELECT set_config('lending.actor_id', {_literal(actor_id, has_params=has_params)}, "
        f"true), set_config('lending.actor_source', {_literal(source, has_params=has_params)}, "
        "true); "
    )
    result = execute(prefix + sql, params, many, context)
    # The cursor stands on the settings' result; the caller wants the write's.
    context["cursor"].nextset()
    return result


def _install(sender, connection, **kwargs):
    if tell_the_audit_trail_who not in connection.execute_wrappers:
        connection.execute_wrappers.append(tell_the_audit_trail_who)


def audit_install() -> None:
    """Called from ``AccountsConfig.ready``: every connection tells the triggers who."""
    global _process_source
    _process_source = _command_source(sys.argv)
    connection_created.connect(_install, dispatch_uid="accounts_audit_actor")


class AuditActorMiddleware:
    """Makes the request's user (resolved when a write needs it: for the API, after
    token authentication) the actor of the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
