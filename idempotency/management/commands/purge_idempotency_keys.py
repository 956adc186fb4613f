from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from idempotency.services import idempotency_record_purge


class Command(BaseCommand):
    help = "Delete stored idempotency keys older than the retention period (at least 24 hours)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=settings.IDEMPOTENCY_KEY_RETENTION_HOURS,
            help="retention in hours (default from IDEMPOTENCY_KEY_RETENTION_HOURS)",
        )

    def handle(self, *args, **options):
        hours = options["older_than_hours"]
        try:
            deleted = idempotency_record_purge(older_than_hours=hours)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Deleted {deleted} idempotency key(s) older than {hours} hours.")
