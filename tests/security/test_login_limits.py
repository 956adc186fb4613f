"""Failed-login limits that nobody can bypass with their own account, and that nobody can
use to lock someone else out (accounts/login_throttle.py)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import LoginFailureCounter
from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory

LOGIN = "/api/auth/login"
ATTACKER = "198.51.100.7"


def _login(client, email, password, address):
    return client.post(
        LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=address
    )


def _age(key_prefix: str, seconds: float) -> None:
    """Move the counters' clocks back, as time passing would (never sleep in a test)."""
    for counter in LoginFailureCounter.objects.filter(key__startswith=key_prefix):
        counter.window_started_at -= timedelta(seconds=seconds)
        counter.last_failure_at -= timedelta(seconds=seconds)
        counter.save()


@pytest.fixture
def officer(db):
    return OfficerFactory(email="officer@example.com")


@pytest.mark.django_db
def test_logging_in_to_ones_own_account_does_not_reset_the_guesses_at_another(
    api_client, officer, settings
):
    """Reproduced: four wrong passwords, one good login of one's own, again and again."""
    mine = BorrowerFactory(email="mallory@example.com")
    guesses, own_logins = [], []
    for _ in range(3):
        for n in range(4):
            guesses.append(_login(api_client, officer.email, f"guess-{n}", ATTACKER).status_code)
        own_logins.append(_login(api_client, mine.email, DEFAULT_PASSWORD, ATTACKER).status_code)

    limit = settings.LOGIN_FAILURE_LIMIT
    assert guesses.count(401) == limit  # checked; every guess after is refused unchecked
    assert guesses[limit:] == [429] * (len(guesses) - limit)
    assert own_logins == [200, 200, 200]
    assert _login(api_client, officer.email, DEFAULT_PASSWORD, ATTACKER).status_code == 429


@pytest.mark.django_db
def test_five_wrong_passwords_do_not_lock_the_officer_out_elsewhere(api_client, officer):
    for n in range(5):
        assert _login(api_client, officer.email, f"guess-{n}", ATTACKER).status_code == 401

    right_away = _login(api_client, officer.email, DEFAULT_PASSWORD, "203.0.113.20")
    _age("account:", 2)
    a_moment_later = _login(api_client, officer.email, DEFAULT_PASSWORD, "203.0.113.20")

    # The account is slowed down, not locked: at most a second's wait here.
    assert right_away.status_code == 429
    assert int(right_away["Retry-After"]) <= 1
    assert a_moment_later.status_code == 200


@pytest.mark.django_db
def test_an_attacker_does_not_lock_out_the_others_behind_the_same_address(api_client, officer):
    colleague = BorrowerFactory(email="colleague@example.com")
    for n in range(5):
        _login(api_client, officer.email, f"guess-{n}", ATTACKER)

    assert _login(api_client, colleague.email, DEFAULT_PASSWORD, ATTACKER).status_code == 200


@pytest.mark.django_db
def test_guessing_many_accounts_from_one_address_stops_at_the_address_limit(api_client, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    victim = BorrowerFactory(email="victim@example.com")
    answers = [
        _login(api_client, f"user{n}@example.com", "guess", ATTACKER).status_code for n in range(10)
    ]

    assert answers == [401] * 8 + [429] * 2
    assert _login(api_client, victim.email, DEFAULT_PASSWORD, ATTACKER).status_code == 429
    assert _login(api_client, victim.email, DEFAULT_PASSWORD, "203.0.113.30").status_code == 200


@pytest.mark.django_db
def test_guessing_one_account_from_many_addresses_waits_longer_and_longer(
    api_client, officer, settings
):
    settings.LOGIN_SLOWDOWN_MAX_SECONDS = 4
    for n in range(5):
        _login(api_client, officer.email, "guess", f"192.0.2.{n}")
    waits = []
    for n in range(5, 9):
        refused = _login(api_client, officer.email, "guess", f"192.0.2.{n}")
        waits.append(int(refused["Retry-After"]))
        _age("account:", waits[-1])  # the wait passes
        assert _login(api_client, officer.email, "guess", f"192.0.2.{n}").status_code == 401

    assert waits == [1, 2, 4, 4]  # 2 ** (failures - limit) seconds, at most the maximum


@pytest.mark.django_db
def test_a_success_resets_its_own_pair_only(api_client, officer):
    for n in range(4):
        _login(api_client, officer.email, f"guess-{n}", ATTACKER)
    assert _login(api_client, officer.email, DEFAULT_PASSWORD, "203.0.113.40").status_code == 200

    fifth = _login(api_client, officer.email, "guess-5", ATTACKER)
    sixth = _login(api_client, officer.email, DEFAULT_PASSWORD, ATTACKER)

    assert fifth.status_code == 401
    assert sixth.status_code == 429  # the attacker's pair kept its count


@pytest.mark.django_db
def test_the_limits_end_with_their_window(api_client, officer, settings):
    for n in range(5):
        _login(api_client, officer.email, f"guess-{n}", ATTACKER)
    assert _login(api_client, officer.email, DEFAULT_PASSWORD, ATTACKER).status_code == 429

    _age("", settings.LOGIN_LOCKOUT_MINUTES * 60 + 1)

    assert _login(api_client, officer.email, DEFAULT_PASSWORD, ATTACKER).status_code == 200


@pytest.mark.django_db
def test_the_admin_login_keeps_the_same_limits(officer):
    client = Client(REMOTE_ADDR=ATTACKER)
    for n in range(5):
        client.post("/admin/login/", {"username": officer.email, "password": f"guess-{n}"})

    refused = client.post(
        "/admin/login/", {"username": officer.email, "password": DEFAULT_PASSWORD}
    )

    assert refused.status_code == 200  # the form again, not a session
    assert "Too many failed login attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginFailureCounter.objects.filter(
        key=f"pair:{officer.email}|{ATTACKER}", failures=5, last_failure_at__lte=timezone.now()
    ).exists()
