"""purge_login_failures deletes the counters whose window has ended, and only those."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import LoginFailureCounter
from tests.accounts.factories import OfficerFactory

LOGIN = "/api/auth/login"


def _fail(client, email, address):
    response = client.post(
        LOGIN, {"email": email, "password": "wrong"}, format="json", REMOTE_ADDR=address
    )
    assert response.status_code == 401


def _age(key_part: str, minutes: float) -> None:
    """Move a counter's window back, as time passing would (never sleep in a test)."""
    LoginFailureCounter.objects.filter(key__contains=key_part).update(
        window_started_at=timezone.now() - timedelta(minutes=minutes)
    )


@pytest.mark.django_db
def test_only_counters_whose_window_ended_are_deleted(api_client, settings, capsys):
    officer = OfficerFactory(email="officer@example.com")
    _fail(api_client, officer.email, "198.51.100.7")  # pair, address and account keys
    _fail(api_client, "nobody@example.com", "203.0.113.9")  # three more keys
    window = settings.LOGIN_LOCKOUT_MINUTES
    _age("198.51.100.7", window + 1)  # the first failure's pair and address keys: ended
    _age("203.0.113.9", window - 1)  # the second's: still running

    call_command("purge_login_failures")

    left = set(LoginFailureCounter.objects.values_list("key", flat=True))
    assert left == {
        "account:officer@example.com",  # not aged: its window runs
        "pair:nobody@example.com|203.0.113.9",
        "address:203.0.113.9",
        "account:nobody@example.com",
    }
    assert capsys.readouterr().out == (
        f"Deleted 2 failed-login counter(s) older than {window} minutes.\n"
    )


@pytest.mark.django_db
def test_a_purged_address_starts_counting_again_from_one(api_client, settings):
    officer = OfficerFactory(email="officer@example.com")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _fail(api_client, officer.email, "198.51.100.7")
    _age("", settings.LOGIN_LOCKOUT_MINUTES + 1)
    call_command("purge_login_failures")
    assert not LoginFailureCounter.objects.exists()

    _fail(api_client, officer.email, "198.51.100.7")

    assert set(LoginFailureCounter.objects.values_list("failures", flat=True)) == {1}
