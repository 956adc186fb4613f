"""manage.py send_notifications: deliver the outbox's pending rows by email.

Once (cron, by hand): sends every due row, then exits. ``--loop`` (the systemd service):
keeps going, polling an empty outbox every ``NOTIFICATIONS_POLL_SECONDS``, until
SIGTERM or SIGINT, which it obeys between batches. Any number may run at once: rows are
claimed with ``SKIP LOCKED`` (docs/NOTIFICATIONS.md).
"""

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from notifications.services import (
    SendReport,
    notifications_requeue_failed,
    notifications_send_pending,
)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Deliver pending notifications by email (once, or --loop as a service)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop",
            action="store_true",
            help="keep running: poll an empty outbox every NOTIFICATIONS_POLL_SECONDS",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.NOTIFICATIONS_BATCH_SIZE,
            help="rows claimed per transaction (default NOTIFICATIONS_BATCH_SIZE)",
        )
        parser.add_argument(
            "--requeue-failed",
            action="store_true",
            help="first give every FAILED row a fresh set of attempts (after fixing the cause)",
        )

    def handle(self, *args, **options):
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["requeue_failed"]:
            requeued = notifications_requeue_failed()
            self.stdout.write(f"Requeued {requeued} failed notification(s).")
        if not options["loop"]:
            report = notifications_send_pending(batch_size=batch_size)
            self._write(report)
            return
        self._loop(batch_size)

    def _write(self, report: SendReport) -> None:
        self.stdout.write(
            f"Sent {report.sent}, to retry {report.retried}, given up {report.failed}."
        )

    def _loop(self, batch_size: int) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write("Sending notifications until stopped (SIGTERM).")
        self.stdout.flush()
        while not stop.is_set():
            try:
                report = notifications_send_pending(batch_size=batch_size)
            except DatabaseError:  # a restart of PostgreSQL or PgBouncer: wait, go on
                logger.exception("send_notifications: database error; retrying")
                connections.close_all()
                stop.wait(settings.NOTIFICATIONS_POLL_SECONDS)
                continue
            if report.claimed:
                self._write(report)
                self.stdout.flush()
            stop.wait(settings.NOTIFICATIONS_POLL_SECONDS)
        self.stdout.write("Stopped.")
