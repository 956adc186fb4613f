"""Failed logins: limits that stop guessing without letting anyone lock an account out.

Three counters, each over a window of ``LOGIN_LOCKOUT_MINUTES`` from its first failure:

- **the (account, address) pair**: after ``LOGIN_FAILURE_LIMIT`` failures, that address
  may not try that account again until the window ends. A success resets this pair, and
  only this pair: logging in to one's own account never clears the count of guesses at
  someone else's.
- **the address**, across accounts: after ``LOGIN_ADDRESS_FAILURE_LIMIT`` failures (a
  higher limit: one office, one carrier's NAT, many users) it may try no account until the
  window ends. Guessing many accounts from one place is stopped here.
- **the account**, from anywhere: after ``LOGIN_FAILURE_LIMIT`` failures each further
  attempt waits a little longer (1, 2, 4 … seconds after the last failure, at most
  ``LOGIN_SLOWDOWN_MAX_SECONDS``), instead of a hard lock that any stranger could put on
  an officer's account. Guessing one account from many places is slowed to a crawl; its
  owner waits a minute at most.

An attempt refused by a limit is not checked and not counted. The counters are rows in
PostgreSQL (``LoginFailureCounter``), written with one upsert each: they hold across
instances and survive a Redis outage. The API's login and the admin's share them
(``accounts.backends.ThrottledModelBackend``). A counter whose window has ended counts for
nothing; ``login_failures_purge`` (the daily ``purge_login_failures`` job) deletes them.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.emails import email_normalize

UPSERT_SQL = """
    INSERT INTO accounts_loginfailurecounter (key, failures, window_started_at, last_failure_at)
    VALUES (%(key)s, 1, %(now)s, %(now)s)
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN accounts_loginfailurecounter.window_started_at < %(since)s
                        THEN 1 ELSE accounts_loginfailurecounter.failures + 1 END,
        window_started_at = CASE WHEN accounts_loginfailurecounter.window_started_at < %(since)s
                                 THEN %(now)s
                                 ELSE accounts_loginfailurecounter.window_started_at END,
        last_failure_at = %(now)s
"""

READ_SQL = """
    SELECT key, failures, window_started_at, last_failure_at
    FROM accounts_loginfailurecounter
    WHERE key = ANY(%(keys)s) AND window_started_at >= %(since)s
"""


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused, and for how long."""

    reason: str
    retry_after: int  # seconds


def _keys(email: str, address: str) -> tuple[str, str, str]:
    account = email_normalize(email)
    return f"pair:{account}|{address}", f"address:{address}", f"account:{account}"


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def login_refusal(*, email: str, address: str) -> Refusal | None:
    """The limit that refuses this attempt now, if any (checked before the password)."""
    pair, place, account = _keys(email, address)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(READ_SQL, {"keys": [pair, place, account], "since": now - _window()})
        found = {key: (failures, started, last) for key, failures, started, last in cursor}
    limit = settings.LOGIN_FAILURE_LIMIT

    def until_window_ends(key) -> int:
        return max(1, int((found[key][1] + _window() - now).total_seconds()) + 1)

    if pair in found and found[pair][0] >= limit:
        return Refusal("this account from this address", until_window_ends(pair))
    if place in found and found[place][0] >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        return Refusal("this address", until_window_ends(place))
    if account in found and found[account][0] >= limit:
        failures, _, last = found[account]
        delay = min(2 ** (failures - limit), settings.LOGIN_SLOWDOWN_MAX_SECONDS)
        wait = (last + timedelta(seconds=delay) - now).total_seconds()
        if wait > 0:
            return Refusal("this account", max(1, int(wait + 0.999)))
    return None


def login_failed(*, email: str, address: str) -> None:
    """Count a failed attempt against the pair, the address and the account."""
    now = timezone.now()
    with connection.cursor() as cursor:
        for key in _keys(email, address):
            cursor.execute(UPSERT_SQL, {"key": key, "now": now, "since": now - _window()})


def login_succeeded(*, email: str, address: str) -> None:
    """Forget the failures of this account from this address, and only those."""
    pair, _, _ = _keys(email, address)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_loginfailurecounter WHERE key = %s", [pair])


PURGE_SQL = "DELETE FROM accounts_loginfailurecounter WHERE window_started_at < %(since)s"


def login_failures_purge() -> int:
    """Delete the counters whose window has ended (they refuse nothing); the number deleted.

    A failure counted while this runs is safe either way: the upsert of a counter whose
    window ended starts it again at one, which is what re-inserting it after the delete
    does.
    """
    with connection.cursor() as cursor:
        cursor.execute(PURGE_SQL, {"since": timezone.now() - _window()})
        return cursor.rowcount
