"""The database router, read-your-writes pins, the client address behind the proxy,
throttling, and what happens when Redis or the database is away."""

import time

import pytest
from django.core.cache import cache
from django.db import OperationalError, connections, transaction
from django.test import RequestFactory

from lendingsite import db_router, replica_pinning
from lendingsite.db_router import PrimaryReplicaRouter, pinned_check, read_alias, replica_reads
from lendingsite.exception_handlers import DatabaseUnavailableMiddleware
from lendingsite.http import client_ip
from lendingsite.replica_pinning import MARKER_KEY, client_is_pinned, pin_client
from tests.accounts.factories import DEFAULT_PASSWORD
from tests.conftest import client_for

LOGIN = "/api/auth/login"


@pytest.fixture
def with_replica(monkeypatch, settings):
    """Pretend a replica is configured (the decision only; no query is sent to it)."""
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    monkeypatch.setattr(replica_pinning, "replica_configured", lambda: True)
    settings.REPLICA_PIN_SECONDS = 10


def _cache_kept_pins_for_long():
    cache.set(MARKER_KEY, time.time() - 3600, timeout=None)


# --- Router ---------------------------------------------------------------------------


def test_writes_and_migrations_go_to_the_primary(with_replica):
    router = PrimaryReplicaRouter()
    with replica_reads():
        assert router.db_for_write(None) == "default"
    assert router.allow_migrate("default", "wallets") is True
    assert router.allow_migrate("replica", "wallets") is False


def test_without_a_replica_every_read_goes_to_the_primary():
    with replica_reads():
        assert read_alias() == "default"


def test_reads_outside_a_lag_tolerant_scope_go_to_the_primary(with_replica):
    assert read_alias() == "default"


def test_lag_tolerant_reads_of_an_unpinned_client_go_to_the_replica(with_replica):
    with replica_reads(), pinned_check(lambda: False):
        assert read_alias() == "replica"
        assert PrimaryReplicaRouter().db_for_read(None) == "replica"
    assert read_alias() == "default"


def test_reads_right_after_the_clients_write_go_to_the_primary(with_replica):
    with replica_reads(), pinned_check(lambda: True):
        assert read_alias() == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary(with_replica):
    with replica_reads(), pinned_check(lambda: False):
        with transaction.atomic():
            assert read_alias() == "default"
        assert read_alias() == "replica"


def test_replica_reads_works_as_a_decorator(with_replica):
    @replica_reads()
    def lag_tolerant_read():
        return read_alias()

    with pinned_check(lambda: False):
        assert lag_tolerant_read() == "replica"


# --- Read-your-writes pins -----------------------------------------------------------


def _request(ip="10.0.0.7", user=None, method="get"):
    request = getattr(RequestFactory(), method)("/", REMOTE_ADDR=ip)
    if user is not None:
        request.user = user
    return request


def test_a_fresh_or_restarted_cache_pins_everyone_to_the_primary(with_replica):
    assert cache.get(MARKER_KEY) is None
    assert client_is_pinned(_request()) is True
    # The marker is now young: still unknown whether pins were lost, so still pinned.
    assert client_is_pinned(_request()) is True


def test_a_client_is_pinned_after_writing_and_only_that_client(with_replica):
    _cache_kept_pins_for_long()
    assert client_is_pinned(_request("10.0.0.7")) is False

    pin_client(_request("10.0.0.7", method="post"))

    assert client_is_pinned(_request("10.0.0.7")) is True
    assert client_is_pinned(_request("10.0.0.8")) is False


@pytest.mark.django_db
def test_a_signed_in_write_pins_the_user_from_any_address(with_replica, borrower, api_client):
    _cache_kept_pins_for_long()
    client = client_for(borrower)
    refresh = api_client.post(
        LOGIN, {"email": borrower.email, "password": DEFAULT_PASSWORD}, format="json"
    ).json()["refresh_token"]

    client.post("/api/auth/logout", {"refresh_token": refresh}, format="json")

    assert cache.get(f"dbpin:user:{borrower.pk}") == 1
    assert client_is_pinned(_request("10.20.30.40", user=borrower)) is True


@pytest.mark.django_db
def test_a_read_does_not_pin(with_replica, borrower_client):
    _cache_kept_pins_for_long()

    assert borrower_client.get("/api/wallet/balance").status_code == 200

    assert cache.get("dbpin:ip:127.0.0.1") is None


# --- Client address behind nginx -----------------------------------------------------


def test_x_real_ip_is_believed_only_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.8.0.0/16"]
    factory = RequestFactory()

    via_proxy = factory.get("/", REMOTE_ADDR="10.8.1.1", HTTP_X_REAL_IP="203.0.113.9")
    direct = factory.get("/", REMOTE_ADDR="198.51.100.4", HTTP_X_REAL_IP="203.0.113.9")
    garbage = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="not-an-ip")

    assert client_ip(via_proxy) == "203.0.113.9"
    assert client_ip(direct) == "198.51.100.4"
    assert client_ip(garbage) == "127.0.0.1"


def test_no_proxy_is_trusted_by_default(settings):
    settings.TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.9")

    assert client_ip(request) == "127.0.0.1"


def test_a_changed_list_of_proxies_is_obeyed_at_once(settings):
    """The answer for an address is remembered, but never across a change of the list."""
    request = RequestFactory().get("/", REMOTE_ADDR="10.8.1.1", HTTP_X_REAL_IP="203.0.113.9")

    settings.TRUSTED_PROXIES = ["10.8.0.0/16"]
    assert client_ip(request) == "203.0.113.9"
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request) == "10.8.1.1"
    settings.TRUSTED_PROXIES = ["10.8.0.0/16"]
    assert client_ip(request) == "203.0.113.9"


@pytest.mark.django_db
def test_failed_login_lockout_counts_the_client_behind_the_proxy(api_client, borrower, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5

    def attempt(email, password, real_ip):
        return api_client.post(
            LOGIN,
            {"email": email, "password": password},
            format="json",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_REAL_IP=real_ip,
        )

    statuses = [
        attempt(f"guess{n}@example.com", "x", "203.0.113.5").status_code for n in range(limit)
    ]
    same_client = attempt(borrower.email, DEFAULT_PASSWORD, "203.0.113.5")
    other_client = attempt(borrower.email, DEFAULT_PASSWORD, "203.0.113.6")

    assert statuses == [401] * limit
    assert same_client.status_code == 429
    assert other_client.status_code == 200


# --- Throttling ----------------------------------------------------------------------


def _low_anon_rate(settings, rate="2/minute"):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": rate, "user": "1000/minute"},
    }


@pytest.mark.django_db
def test_anonymous_callers_are_throttled_per_client_with_json_429(api_client, settings):
    _low_anon_rate(settings)
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    body = {"refresh_token": "x"}

    def call(ip):
        return api_client.post(
            "/api/auth/refresh", body, format="json", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=ip
        )

    first, second, third = (call("203.0.113.1") for _ in range(3))
    other = call("203.0.113.2")

    assert [first.status_code, second.status_code] == [401, 401]
    assert third.status_code == 429
    assert third.json()["code"] == "throttled"
    assert isinstance(third.json()["detail"], str)
    assert int(third["Retry-After"]) > 0
    assert other.status_code == 401


REDIS_DOWN = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.2,
            "SOCKET_TIMEOUT": 0.2,
        },
    }
}


@pytest.mark.django_db
def test_service_keeps_working_when_redis_is_down(api_client, borrower, settings, with_replica):
    settings.CACHES = REDIS_DOWN
    _low_anon_rate(settings, "1/minute")

    logins = [
        api_client.post(
            LOGIN, {"email": borrower.email, "password": DEFAULT_PASSWORD}, format="json"
        ).status_code
        for _ in range(3)
    ]

    # Counters cannot be kept, so nothing is throttled (nginx still limits), and nobody
    # can be shown to be unpinned, so reads stay on the primary.
    assert logins == [200, 200, 200]
    assert client_is_pinned(_request()) is True


# --- Database unavailable -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_answers_a_clean_503(borrower):
    client = client_for(borrower)
    conn = connections["default"]
    saved = dict(conn.settings_dict)
    conn.close()
    conn.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        response = client.get("/api/wallet/balance")
    finally:
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(saved)

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert "Nothing was changed" in response.json()["detail"]
    assert response["Retry-After"] == "5"


def test_non_api_views_meeting_a_database_error_answer_503():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/admin/")

    response = middleware.process_exception(request, OperationalError("connection refused"))
    untouched = middleware.process_exception(request, ValueError("a bug"))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert untouched is None


# --- Which views read from the replica, what is cached --------------------------------


@pytest.fixture
def read_aliases(monkeypatch, with_replica):
    """Record where the router would send each read (and send it to the primary)."""
    decided = []

    def spy(self, model, **hints):
        decided.append(read_alias())
        return "default"

    monkeypatch.setattr(PrimaryReplicaRouter, "db_for_read", spy)
    _cache_kept_pins_for_long()
    return decided


@pytest.mark.django_db(transaction=True)
def test_history_goes_to_the_replica_and_balances_never(read_aliases, borrower):
    client = client_for(borrower)

    assert client.get("/api/wallet/balance").status_code == 200
    balance_reads = list(read_aliases)
    read_aliases.clear()
    assert client.get("/api/wallet/transactions").status_code == 200
    history_reads = list(read_aliases)

    assert balance_reads and set(balance_reads) == {"default"}
    assert "replica" in history_reads


@pytest.mark.django_db(transaction=True)
def test_history_right_after_the_callers_deposit_comes_from_the_primary(read_aliases, borrower):
    client = client_for(borrower)
    deposit = {"amount": "10.00", "idempotency_key": "pin-1"}

    assert client.post("/api/wallet/deposit", deposit, format="json").status_code == 201
    read_aliases.clear()
    history = client.get("/api/wallet/transactions")

    assert history.status_code == 200
    assert [row["amount"] for row in history.json()] == ["10.00"]
    assert "replica" not in read_aliases


EMI_TERMS = {"principal_amount": "100000", "tenure_months": 12, "interest_rate": "12"}


@pytest.mark.django_db
def test_emi_quotes_are_cached(borrower_client, monkeypatch):
    from loans import services

    calls = []
    real_quote = services.loan_quote
    monkeypatch.setattr(
        services, "loan_quote", lambda **terms: calls.append(terms) or real_quote(**terms)
    )

    first = borrower_client.post("/api/loans/calculate-emi", EMI_TERMS, format="json")
    second = borrower_client.post("/api/loans/calculate-emi", EMI_TERMS, format="json")
    other = borrower_client.post(
        "/api/loans/calculate-emi", {**EMI_TERMS, "tenure_months": 24}, format="json"
    )

    assert first.status_code == second.status_code == other.status_code == 200
    assert first.json() == second.json()
    assert len(calls) == 2


@pytest.mark.django_db
def test_emi_quotes_work_when_redis_is_down(borrower_client, settings):
    settings.CACHES = REDIS_DOWN

    response = borrower_client.post("/api/loans/calculate-emi", EMI_TERMS, format="json")

    assert response.status_code == 200
    assert response.json()["emi_amount"] == "8884.88"
