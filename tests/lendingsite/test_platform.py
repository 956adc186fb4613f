import pytest
from django.core.management import call_command
from django.db import connections


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_the_database_answers(client):
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_when_the_database_is_unreachable(client):
    conn = connections["default"]
    saved = dict(conn.settings_dict)
    conn.close()
    conn.settings_dict.update(HOST="127.0.0.1", PORT="1")  # nothing listens there
    try:
        response = client.get("/readyz")
    finally:
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(saved)

    assert response.status_code == 503
    assert response.json()["detail"] == "Database is unreachable."


@pytest.mark.django_db
def test_openapi_schema_validates(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    text = out.read_text()
    assert "/api/auth/register" in text
    assert "/api/wallet/balance" in text


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.django_db
def test_unknown_api_url_is_json_404(client):
    response = client.get("/api/no-such-thing")

    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


@pytest.mark.django_db
def test_malformed_json_is_400_naming_the_problem(api_client):
    response = api_client.post("/api/auth/register", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.django_db
def test_wrong_content_type_is_415(api_client):
    response = api_client.post("/api/auth/register", "<x/>", content_type="application/xml")

    assert response.status_code == 415
    assert isinstance(response.json()["detail"], str)


@pytest.mark.django_db
def test_oversized_body_is_refused_with_json(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api_client.post(
        "/api/auth/register",
        {"name": "x" * 5000, "email": "a@b.co", "password": "p"},
        format="json",
    )

    assert response.status_code == 413
    assert response.json()["detail"] == "Request body is too large."


@pytest.mark.django_db
def test_method_not_allowed_is_json(borrower_client):
    response = borrower_client.delete("/api/wallet/balance")

    assert response.status_code == 405
    assert isinstance(response.json()["detail"], str)


@pytest.mark.django_db
def test_cors_preflight_allows_the_api_headers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]
    response = client.options(
        "/api/wallet/balance",
        HTTP_ORIGIN="http://localhost:5173",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


@pytest.mark.django_db
def test_cors_headers_are_on_error_responses_too(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]
    response = client.get("/api/wallet/balance", HTTP_ORIGIN="http://localhost:5173")

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"


@pytest.mark.django_db
def test_cors_refuses_unknown_origins(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]
    response = client.get("/api/wallet/balance", HTTP_ORIGIN="http://evil.example")

    assert "Access-Control-Allow-Origin" not in response


def test_deploy_checks_are_clean_under_production_settings(settings):
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True  # production value (tests talk plain HTTP)
    call_command("check", "--deploy", "--fail-level", "WARNING")


def test_redis_replies_are_parsed_in_c():
    """hiredis is installed, and redis-py uses it for the replies of every cache call."""
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE
