"""Every write of the notifications app: adding events to the outbox, and delivering them.

Adding: ``notification_add`` (one event) and ``notifications_add_many`` (a set, for the
close of business) run in the caller's transaction, so the row commits or rolls back
with the event that made it. Each event is keyed (``event_key``, UNIQUE per channel):
writing it again writes nothing.

Delivering: ``notifications_send_batch`` claims a few due rows with ``SELECT … FOR
UPDATE SKIP LOCKED``, sends each through Django's email backend and records the outcome,
all in one short transaction. Two senders never claim the same row; a sender that dies
releases its rows with its connection. A crash after the mail server accepted a message
and before the commit leaves the row pending: it is sent again with the same
``Message-ID`` and idempotency header (docs/NOTIFICATIONS.md).
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.utils import timezone

from lendingsite.cte import WriteStatement
from notifications.emails import notification_email
from notifications.models import Notification

logger = logging.getLogger(__name__)

CHANNELS = (Notification.Channel.EMAIL,)
ERROR_LENGTH = 2000


def event_key(kind: str, ref: object) -> str:
    """The key of an event: its kind and the id of the record it is about."""
    return f"{kind}:{ref}"


@dataclass(frozen=True)
class NotificationToAdd:
    """One event for ``notifications_add_many``."""

    kind: str
    ref: object  # the id of the record the event is about (see ``event_key``)
    recipient_id: int
    business_date: date
    loan_id: int | None = None
    payload: dict = field(default_factory=dict)


def _checked_kind(kind: str) -> str:
    return Notification.Kind(kind).value  # ValueError on a kind nobody can render


def notification_add(
    *,
    kind: str,
    ref: object,
    recipient_id: int,
    business_date: date,
    loan_id: int | None = None,
    payload: dict | None = None,
) -> int:
    """Add an event to the outbox (one row per channel); return how many rows were new.

    Runs in the caller's transaction: call it from the service that makes the event,
    inside that event's ``transaction.atomic()``.
    """
    return notifications_add_many(
        rows=[
            NotificationToAdd(
                kind=kind,
                ref=ref,
                recipient_id=recipient_id,
                business_date=business_date,
                loan_id=loan_id,
                payload=payload or {},
            )
        ]
    )


INSERT_MANY_SQL = """
    INSERT INTO notifications_notification
        (kind, channel, event_key, recipient_id, loan_id, business_date, payload,
         state, attempts, last_error, created_at, next_attempt_at)
    SELECT r.kind, c.channel, r.kind || ':' || r.ref, r.recipient_id, r.loan_id,
           r.business_date, r.payload, 'PENDING', 0, '', now(), now()
    FROM unnest(%(kinds)s::text[], %(refs)s::text[], %(recipients)s::bigint[],
                %(loans)s::bigint[], %(dates)s::date[], %(payloads)s::jsonb[])
         AS r(kind, ref, recipient_id, loan_id, business_date, payload)
    CROSS JOIN unnest(%(channels)s::text[]) AS c(channel)
    ON CONFLICT (channel, event_key) DO NOTHING
"""


INSERT_WITH_SQL = """
    INSERT INTO notifications_notification
        (kind, channel, event_key, recipient_id, loan_id, business_date, payload,
         state, attempts, last_error, created_at, next_attempt_at)
    SELECT %s, c.channel, %s || ':' || ({ref}), %s, %s, %s, %s::jsonb,
           'PENDING', 0, '', now(), now()
    FROM unnest(%s::text[]) AS c(channel)
    ON CONFLICT (channel, event_key) DO NOTHING
"""


def notification_add_with(
    statement: WriteStatement,
    *,
    name: str,
    kind: str,
    recipient_id: int,
    ref: object = None,
    ref_part: str = "",
    business_date: date,
    loan_id: int | None = None,
    payload: dict | None = None,
) -> None:
    """``notification_add`` as a part ``name`` of the caller's one-statement write.

    ``ref``: the id of the record the event is about; or ``ref_part``: the earlier part
    of the same statement that writes that record and returns its ``id`` (not known
    before the statement runs).
    """
    if ref_part and ref_part not in statement:
        raise ValueError(f"No part {ref_part!r} in the statement.")
    ref_sql = f"SELECT id FROM {ref_part}" if ref_part else "%s::text"  # noqa: S608
    params = [] if ref_part else [str(ref)]
    statement.add(
        name,
        INSERT_WITH_SQL.format(ref=ref_sql),  # a part's name (checked above) or a placeholder
        [
            _checked_kind(kind),
            kind,
            *params,
            recipient_id,
            loan_id,
            business_date,
            json.dumps(payload or {}, default=str),
            [channel.value for channel in CHANNELS],
        ],
    )


def notifications_add_many(*, rows: Iterable[NotificationToAdd]) -> int:
    """Add events to the outbox in one statement; return how many rows were new.

    Set-based for the close of business: a chunk's events cost one INSERT whatever
    their number. An event already in the outbox (a day closed again) is skipped by its
    UNIQUE key. Runs in the caller's transaction.
    """
    rows = list(rows)
    if not rows:
        return 0
    params = {
        "kinds": [_checked_kind(row.kind) for row in rows],
        "refs": [str(row.ref) for row in rows],
        "recipients": [row.recipient_id for row in rows],
        "loans": [row.loan_id for row in rows],
        "dates": [row.business_date for row in rows],
        "payloads": [json.dumps(row.payload, default=str) for row in rows],
        "channels": [channel.value for channel in CHANNELS],
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT_MANY_SQL, params)
        return cursor.rowcount


# --- Delivery -------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one or more batches did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0  # failed, to be tried again later
    failed: int = 0  # failed for the last time: given up, the error kept

    def add(self, other: "SendReport") -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, capped."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    seconds = min(base * 2 ** (attempts - 1), settings.NOTIFICATIONS_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds)


def _claim(*, channel: str, now: datetime, batch_size: int) -> list[Notification]:
    return list(
        Notification.objects.filter(state=Notification.State.PENDING, channel=channel)
        .filter(next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .select_related("recipient")
        .select_for_update(skip_locked=True, of=("self",), no_key=True)[:batch_size]
    )


def _record_failure(row: Notification, error: Exception, now: datetime, report: SendReport):
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    if row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        row.state = Notification.State.FAILED
        report.failed += 1
        logger.error("notification %s given up after %s attempts: %s", row.pk, row.attempts, error)
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)
        report.retried += 1
        logger.warning("notification %s attempt %s failed: %s", row.pk, row.attempts, error)


def notifications_send_batch(
    *, batch_size: int | None = None, now: datetime | None = None
) -> SendReport:
    """Claim up to ``batch_size`` due email rows, send them, record what happened.

    Locks: the claimed rows (``FOR NO KEY UPDATE SKIP LOCKED``: rows another sender
    holds are passed over, never waited for), until the outcome is committed.
    Transaction: its own (never call it inside another). ``now`` moves the clock for
    the retry schedule (tests); it defaults to the wall clock.
    """
    batch_size = batch_size or settings.NOTIFICATIONS_BATCH_SIZE
    report = SendReport()
    with transaction.atomic(durable=True):
        now = now or timezone.now()
        rows = _claim(channel=Notification.Channel.EMAIL, now=now, batch_size=batch_size)
        report.claimed = len(rows)
        if not rows:
            return report
        mail = get_connection(fail_silently=False)
        try:
            for row in rows:
                try:
                    email = notification_email(row, connection=mail)
                    email.send()
                except Exception as exc:  # any failure is recorded and retried
                    _record_failure(row, exc, now, report)
                else:
                    row.attempts += 1
                    row.state = Notification.State.SENT
                    row.sent_at = timezone.now()
                    row.last_error = ""
                    report.sent += 1
        finally:
            try:
                mail.close()
            except Exception:  # the server went away: the outcomes stand
                logger.warning("closing the mail connection failed", exc_info=True)
        Notification.objects.bulk_update(
            rows, ["state", "attempts", "next_attempt_at", "last_error", "sent_at"]
        )
    return report


def notifications_send_pending(*, batch_size: int | None = None) -> SendReport:
    """Send batches until none is due; return the totals."""
    total = SendReport()
    while True:
        report = notifications_send_batch(batch_size=batch_size)
        total.add(report)
        if report.claimed == 0:
            return total


@transaction.atomic
def notifications_requeue_failed(*, ids: Iterable[int] | None = None) -> int:
    """Give FAILED rows (all, or those of ``ids``) a fresh set of attempts, due now.

    For after the cause is fixed (a mail server's credentials, an address). The last
    error stays on the row until the next attempt replaces it.
    """
    failed = Notification.objects.filter(state=Notification.State.FAILED)
    if ids is not None:
        failed = failed.filter(pk__in=list(ids))
    return failed.update(
        state=Notification.State.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
