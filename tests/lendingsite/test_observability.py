"""Request ids, JSON logs, Prometheus metrics and Sentry."""

import io
import json
import logging
import logging.config

import pytest
import sentry_sdk
from django.conf import settings as django_settings
from prometheus_client import REGISTRY

from lendingsite.metrics import MONEY_OPERATIONS, OUTCOMES
from lendingsite.observability import sentry_init

DEPOSIT = "/api/wallet/deposit"
WITHDRAW = "/api/wallet/withdraw"
REQUEST_ID = "0f5c8e7a3b2d4c1e9a8b7c6d5e4f3a2b"


def test_each_response_carries_a_request_id(client):
    response = client.get("/healthz")

    assert len(response["X-Request-ID"]) == 32


def test_the_proxys_request_id_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=REQUEST_ID)

    assert response["X-Request-ID"] == REQUEST_ID


@pytest.fixture
def json_log_lines():
    """Route the access log through the configured JSON formatter and request-id filter."""
    stream = io.StringIO()
    config = django_settings.LOGGING
    logging.config.dictConfig(
        {
            **config,
            "handlers": {
                "buffer": {
                    "class": "logging.StreamHandler",
                    "stream": stream,
                    "formatter": "json",
                    "filters": ["request_id"],
                }
            },
            "root": {"handlers": [], "level": "INFO"},
            "loggers": {"lendingsite.access": {"handlers": ["buffer"], "level": "INFO"}},
        }
    )
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logging.config.dictConfig(config)


def test_log_lines_are_json_with_the_request_id(client, json_log_lines):
    client.get("/healthz", HTTP_X_REQUEST_ID=REQUEST_ID)

    (line,) = json_log_lines()
    assert line["request_id"] == REQUEST_ID
    assert line["level"] == "INFO"
    assert line["logger"] == "lendingsite.access"
    assert line["status"] == 200
    assert line["path"] == "/healthz"
    assert isinstance(line["duration_ms"], float)


@pytest.mark.django_db
def test_an_api_calls_log_line_names_its_caller(borrower, borrower_client, json_log_lines):
    quote = {"principal_amount": "1000.00", "tenure_months": 6, "interest_rate": "12.00"}
    borrower_client.post(
        "/api/loans/calculate-emi", quote, format="json", HTTP_X_REQUEST_ID=REQUEST_ID
    )

    (line,) = json_log_lines()
    assert line["request_id"] == REQUEST_ID
    assert line["user_id"] == borrower.pk
    assert (line["method"], line["path"], line["status"]) == (
        "POST",
        "/api/loans/calculate-emi",
        200,
    )
    assert line["message"] == "POST /api/loans/calculate-emi 200"
    assert isinstance(line["duration_ms"], float)
    assert set(line) == {
        "level", "logger", "message", "request_id", "time",
        "method", "path", "status", "duration_ms", "user_id",
    }  # fmt: skip


@pytest.mark.django_db
def test_metrics_expose_request_latency_and_database_counters(client):
    client.get("/readyz")

    text = client.get("/metrics").content.decode()

    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert 'django_db_execute_total{alias="default",vendor="postgresql"}' in text
    assert "django_db_errors_total" in text
    assert "lending_money_operations_total" in text


def _request_samples(view, method, status):
    """The request metrics of one view, method and status, as /metrics reports them."""
    sample = REGISTRY.get_sample_value
    labels = {"view": view, "method": method}
    return {
        "by_status": sample("django_http_responses_total_by_status_total", {"status": status}),
        "by_status_view_method": sample(
            "django_http_responses_total_by_status_view_method_total",
            {**labels, "status": status},
        ),
        "by_view_transport_method": sample(
            "django_http_requests_total_by_view_transport_method_total",
            {**labels, "transport": "http"},
        ),
        "latency": sample("django_http_requests_latency_seconds_by_view_method_count", labels),
        "requests": sample("django_http_requests_total_by_method_total", {"method": method}),
    }


@pytest.mark.django_db
def test_each_request_is_counted_once_in_each_request_metric(borrower_client):
    """The labelled children are kept per process (lendingsite.metrics): every call still
    counts once, under its own labels."""
    quote = {"principal_amount": "1000.00", "tenure_months": 6, "interest_rate": "12.00"}
    view, path = "loan-calculate-emi", "/api/loans/calculate-emi"
    assert borrower_client.post(path, quote, format="json").status_code == 200
    before = _request_samples(view, "POST", "200")
    refused_before = _request_samples(view, "POST", "400")

    for _ in range(3):
        assert borrower_client.post(path, quote, format="json").status_code == 200
    assert borrower_client.post(path, {}, format="json").status_code == 400

    after = _request_samples(view, "POST", "200")
    assert {name: after[name] - before[name] for name in after} == {
        "by_status": 3,
        "by_status_view_method": 3,
        "by_view_transport_method": 4,
        "latency": 4,
        "requests": 4,
    }
    refused = _request_samples(view, "POST", "400")
    assert refused["by_status_view_method"] - (refused_before["by_status_view_method"] or 0) == 1


def _counts(kind):
    return {
        outcome: MONEY_OPERATIONS.labels(kind=kind, outcome=outcome)._value.get()
        for outcome in OUTCOMES
    }


@pytest.mark.django_db
def test_money_operations_are_counted_by_kind_and_outcome(borrower_client):
    deposits, withdrawals = _counts("deposit"), _counts("withdrawal")

    deposit = {"amount": "100.00", "idempotency_key": "metrics-1"}
    assert borrower_client.post(DEPOSIT, deposit, format="json").status_code == 201
    assert borrower_client.post(DEPOSIT, deposit, format="json").status_code == 201
    too_much = {"amount": "500.00", "idempotency_key": "metrics-2"}
    assert borrower_client.post(WITHDRAW, too_much, format="json").status_code == 400

    def change(before, kind):
        after = _counts(kind)
        return {o: after[o] - before[o] for o in OUTCOMES if after[o] != before[o]}

    assert change(deposits, "deposit") == {"ok": 1, "replayed": 1}
    assert change(withdrawals, "withdrawal") == {"refused": 1}
    text = borrower_client.get("/metrics").content.decode()
    assert 'lending_money_operations_total{kind="deposit",outcome="ok"}' in text


def test_sentry_receives_errors_without_personal_data():
    sent = []

    class Transport(sentry_sdk.transport.Transport):
        def capture_envelope(self, envelope):
            sent.append(envelope)

    sentry_init(dsn="https://public@127.0.0.1:9/1", environment="test", transport=Transport)
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            sentry_sdk.capture_exception(exc)
        sentry_sdk.flush()
        client_options = sentry_sdk.get_client().options
    finally:
        sentry_sdk.init(dsn=None)

    assert client_options["environment"] == "test"
    events = [
        item.payload.json for envelope in sent for item in envelope.items if item.type == "event"
    ]
    assert events and events[0]["exception"]["values"][0]["value"] == "boom"
    assert "ip_address" not in events[0].get("user", {})
