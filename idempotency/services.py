from datetime import timedelta

from django.utils import timezone

from idempotency.models import IdempotencyRecord

MIN_RETENTION_HOURS = 24


def idempotency_record_purge(*, older_than_hours: int) -> int:
    """Delete the records older than ``older_than_hours``; return how many went.

    A key is kept at least ``MIN_RETENTION_HOURS``: clients retry for a day at most.
    """
    if older_than_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"Keys are kept at least {MIN_RETENTION_HOURS} hours.")
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
