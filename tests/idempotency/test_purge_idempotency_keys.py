from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from idempotency.models import IdempotencyRecord


def _record(user, key, age_hours):
    record = IdempotencyRecord.objects.create(
        user=user,
        endpoint="wallet.deposit",
        key=key,
        fingerprint="f",
        response_status=201,
        response_body={},
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(hours=age_hours)
    )


@pytest.mark.django_db
def test_purge_deletes_only_keys_older_than_the_retention(borrower):
    _record(borrower, "old", 100)
    _record(borrower, "recent", 23)

    call_command("purge_idempotency_keys", "--older-than-hours", "24")

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


@pytest.mark.django_db
def test_purge_refuses_a_retention_under_24_hours(borrower):
    with pytest.raises(CommandError, match="at least 24 hours"):
        call_command("purge_idempotency_keys", "--older-than-hours", "1")
