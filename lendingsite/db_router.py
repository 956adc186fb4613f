"""Which database a query goes to: the primary, or a streaming replica for lag-tolerant reads.

The rule (also in docs/DEPLOYMENT.md, "Database routing"):

* Every write, and every migration, goes to the primary (``default``).
* A read goes to the replica (``replica``) only when all of these hold:

  1. a replica is configured (``DATABASE_REPLICA_URL``);
  2. the code runs inside :func:`replica_reads`, which a view or selector uses to declare
     that its answer may be a little behind (lists, history, the dashboard);
  3. no transaction is open on the primary in this thread: money moves inside
     ``transaction.atomic()``, and a read there must see the rows it locks and writes;
  4. the client has not written recently: after any request that may have written
     (POST, PUT, PATCH, DELETE), the same user and the same client address read from the
     primary for ``REPLICA_PIN_SECONDS`` (see :mod:`lendingsite.replica_pinning`).

* Anything else reads from the primary. When in doubt (no shared cache to remember the
  pins, the cache just restarted or is down), the answer is the primary.
"""

import contextvars
from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA_DB_ALIAS = "replica"

_replica_reads_allowed = contextvars.ContextVar("replica_reads_allowed", default=False)
# Set per request by the pinning middleware: answers "has this client written recently?".
_pinned_check: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "primary_pinned_check", default=None
)


@contextmanager
def replica_reads():
    """Let reads in this block go to the replica (usable as a decorator too).

    Only for answers that tolerate replication lag; never around code that moves money.
    """
    token = _replica_reads_allowed.set(True)
    try:
        yield
    finally:
        _replica_reads_allowed.reset(token)


@contextmanager
def pinned_check(check: Callable[[], bool]):
    """Install the "did this client write recently?" question for the current request."""
    token = _pinned_check.set(check)
    try:
        yield
    finally:
        _pinned_check.reset(token)


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in settings.DATABASES


def read_alias() -> str:
    """The database alias a read issued now should use (the rule above)."""
    if not replica_configured() or not _replica_reads_allowed.get():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    check = _pinned_check.get()
    if check is not None and check():
        return DEFAULT_DB_ALIAS
    return REPLICA_DB_ALIAS


class PrimaryReplicaRouter:
    """Django database router applying :func:`read_alias`."""

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data (the replica is a copy of the primary).
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
