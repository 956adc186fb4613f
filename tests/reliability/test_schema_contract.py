"""The OpenAPI schema documents every status the service answers (fuzzing holds it to it)."""

import re

import pytest

MONEY_OPERATIONS = [
    ("post", "/api/wallet/deposit"),
    ("post", "/api/wallet/withdraw"),
    ("post", "/api/repayments/make-payment"),
]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_every_operation_documents_the_errors_any_request_can_meet(schema):
    for method, path, operation in _operations(schema):
        statuses = set(operation["responses"])
        assert {"401", "414", "429", "503"} <= statuses, (method, path)
        if method == "post":
            assert {"400", "413", "415"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)


def test_money_operations_document_idempotency_answers_and_header(schema):
    for method, path in MONEY_OPERATIONS:
        operation = schema["paths"][path][method]
        assert {"201", "400", "403", "409", "422"} <= set(operation["responses"])
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == ["Idempotency-Key"]


def test_errors_are_documented_as_the_json_error_body(schema):
    error = schema["components"]["schemas"]["ErrorOutput"]
    assert set(error["required"]) == {"detail", "code"}
    response = schema["paths"]["/api/wallet/deposit"]["post"]["responses"]["403"]
    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOutput")


def test_request_numbers_are_documented_as_the_number_or_string_accepted(schema):
    deposit = schema["components"]["schemas"]["WalletTransferInputRequest"]
    number, string = deposit["properties"]["amount"]["oneOf"]
    assert number == {"type": "number", "minimum": 0.01, "maximum": 1000000.0}
    pattern = re.compile(string["pattern"])
    assert pattern.fullmatch("1500.00") and pattern.fullmatch("0001.5")
    for refused in ("1e3", " 15", "1_500", "1.005", "\u0661"):
        assert not pattern.fullmatch(refused), refused


def test_request_bodies_are_json_except_the_oauth2_login(schema):
    for method, path, operation in _operations(schema):
        if method != "post" or "requestBody" not in operation:
            continue
        types = set(operation["requestBody"]["content"])
        if path == "/api/auth/login":
            assert types == {"application/json", "application/x-www-form-urlencoded"}
        else:
            assert types == {"application/json"}, path
