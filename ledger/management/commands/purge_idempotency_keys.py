from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ledger.models import IdempotencyRecord


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
        if hours < 24:
            raise CommandError("Keys are kept at least 24 hours.")
        cutoff = timezone.now() - timedelta(hours=hours)
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"Deleted {deleted} idempotency key(s) older than {hours} hours.")
