"""Bad input on every endpoint: always a 4xx with a JSON body naming the problem."""

from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from loans.models import Loan, Repayment
from tests.conftest import client_for
from tests.loans.factories import active_loan, applied_loan
from wallets.services import wallet_deposit

BAD_AMOUNTS = [
    -1,
    "-1.00",
    0,
    "0.00",
    "0",
    "1.005",
    1.005,
    "99999999999999999999",
    10**30,
    "1e3",
    "abc",
    "",
    " 5",
    "5 ",
    "1_000",
    "0x10",
    "\u0661\u0662",  # Arabic-Indic digits
    "NaN",
    "Infinity",
    True,
    None,
    [],
    {},
]
BAD_TENURES = [0, -1, 61, 10**12, 12.5, "12.5", "abc", "", True, None, [], "\u0661\u0662"]
BAD_RATES = [-1, "-0.01", "50.01", 1000, "1.234", "abc", True, []]

ALL_POSTS = [
    "/api/auth/register",
    "/api/auth/login",
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/loans/calculate-emi",
    "/api/loans/apply",
    "/api/loans/admin/approve",
    "/api/repayments/make-payment",
    "/api/wallet/deposit",
    "/api/wallet/withdraw",
]
OFFICER_POSTS = {"/api/loans/admin/approve"}


def assert_refused(response, *, status=400, field=None):
    assert 400 <= response.status_code < 500, response.content
    if status is not None:
        assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["code"], str), body
    if field is not None:
        assert field in body, body
        assert field in body["detail"], body


@pytest.fixture
def money_world(borrower):
    wallet_deposit(user=borrower, amount=Decimal("1000.00"), idempotency_key="seed")
    return {"loan": active_loan(borrower, principal="1000.00", tenure=2)}


def _ledger_size():
    return JournalEntry.objects.count(), Repayment.objects.count(), Loan.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
@pytest.mark.parametrize(
    "path", ["/api/wallet/deposit", "/api/wallet/withdraw", "/api/repayments/make-payment"]
)
def test_bad_amounts_are_refused_naming_the_field_and_move_nothing(
    borrower_client, money_world, path, amount
):
    before = _ledger_size()
    body = {"amount": amount, "idempotency_key": "k", "loan_id": money_world["loan"].pk}

    response = borrower_client.post(path, body, format="json")

    assert_refused(response, field="amount")
    assert _ledger_size() == before


@pytest.mark.django_db
@pytest.mark.parametrize("principal", [*BAD_AMOUNTS, "500000.01"], ids=repr)
@pytest.mark.parametrize("path", ["/api/loans/calculate-emi", "/api/loans/apply"])
def test_bad_principals_are_refused_naming_the_field(borrower_client, path, principal):
    response = borrower_client.post(
        path, {"principal_amount": principal, "tenure_months": 12}, format="json"
    )

    assert_refused(response, field="principal_amount")
    assert not Loan.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("tenure", BAD_TENURES, ids=repr)
@pytest.mark.parametrize("path", ["/api/loans/calculate-emi", "/api/loans/apply"])
def test_absurd_tenures_are_refused_naming_the_field(borrower_client, path, tenure):
    response = borrower_client.post(
        path, {"principal_amount": "1000.00", "tenure_months": tenure}, format="json"
    )

    assert_refused(response, field="tenure_months")
    assert not Loan.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("rate", BAD_RATES, ids=repr)
@pytest.mark.parametrize("path", ["/api/loans/calculate-emi", "/api/loans/apply"])
def test_absurd_rates_are_refused_naming_the_field(borrower_client, path, rate):
    body = {"principal_amount": "1000.00", "tenure_months": 12, "interest_rate": rate}

    response = borrower_client.post(path, body, format="json")

    assert_refused(response, field="interest_rate")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "missing"),
    [
        ("/api/auth/register", {"email": "a@example.com", "password": "long-passphrase"}, "name"),
        ("/api/auth/register", {"name": "A", "password": "long-passphrase"}, "email"),
        ("/api/auth/register", {"name": "A", "email": "a@example.com"}, "password"),
        ("/api/auth/login", {"email": "a@example.com"}, "password"),
        ("/api/auth/login", {"password": "x"}, "email"),
        ("/api/auth/refresh", {}, "refresh_token"),
        ("/api/auth/logout", {}, "refresh_token"),
        ("/api/loans/calculate-emi", {"tenure_months": 12}, "principal_amount"),
        ("/api/loans/apply", {"principal_amount": "100.00"}, "tenure_months"),
        ("/api/loans/admin/approve", {"approved": True}, "loan_id"),
        ("/api/loans/admin/approve", {"loan_id": 1}, "approved"),
        ("/api/repayments/make-payment", {"amount": "1.00", "idempotency_key": "k"}, "loan_id"),
        ("/api/repayments/make-payment", {"loan_id": 1, "idempotency_key": "k"}, "amount"),
        ("/api/wallet/deposit", {"idempotency_key": "k"}, "amount"),
        ("/api/wallet/deposit", {"amount": "1.00"}, "idempotency_key"),
        ("/api/wallet/withdraw", {"amount": "1.00"}, "idempotency_key"),
    ],
)
def test_missing_fields_are_named(borrower, officer, path, body, missing):
    client = client_for(officer if path in OFFICER_POSTS else borrower)

    response = client.post(path, body, format="json")

    assert_refused(response, field=missing)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("loan_id", "abc"),
        ("loan_id", 0),
        ("loan_id", 2**63),
        ("loan_id", True),
        ("loan_id", "1 "),
        ("approved", "yes"),
        ("approved", 1),
        ("approved", None),
        ("rejection_reason", 5),
        ("rejection_reason", "x" * 1001),
    ],
    ids=repr,
)
def test_bad_decisions_are_refused_naming_the_field(borrower, officer, field, value):
    loan = applied_loan(borrower)
    body = {"loan_id": loan.pk, "approved": False, "rejection_reason": "No.", field: value}

    response = client_for(officer).post("/api/loans/admin/approve", body, format="json")

    assert_refused(response, field=field)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.APPLIED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 5, "email": "a@example.com", "password": "long-passphrase"}, "name"),
        ({"name": "A", "email": ["a@example.com"], "password": "long-passphrase"}, "email"),
        ({"name": "A", "email": "a@example.com", "password": 12345678901}, "password"),
        ({"name": "A\x00", "email": "a@example.com", "password": "long-passphrase"}, "name"),
        ({"name": "A", "email": "not-an-email", "password": "long-passphrase"}, "email"),
        ({"name": "A", "email": "a@example.com", "password": "short"}, "password"),
        ({"name": "x" * 151, "email": "a@example.com", "password": "long-passphrase"}, "name"),
    ],
    ids=repr,
)
def test_bad_registrations_are_refused_naming_the_field(api_client, body, field):
    response = api_client.post("/api/auth/register", body, format="json")

    assert_refused(response, field=field)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["limit=0", "limit=-1", "limit=abc", "limit=", "before=0", "before=x", "limit=1.5"]
)
def test_bad_paging_is_refused(borrower_client, query):
    response = borrower_client.get(f"/api/wallet/transactions?{query}")

    assert_refused(response, field=query.split("=")[0])


def test_a_huge_id_in_the_path_is_not_found(db, borrower_client):
    for path in ("/api/loans/{}", "/api/loans/{}/schedule", "/api/repayments/loan/{}"):
        response = borrower_client.get(path.format(10**30))
        assert_refused(response, status=404)


MALFORMED = [
    b"{",
    b'{"amount": 1,}',
    b"{'amount': 1}",
    b"[1, 2",
    b"\xff\xfe\x00",
    b'{"amount": NaN}',
    b'{"amount": Infinity}',
    b"[" * 20000 + b"]" * 20000,  # nested far beyond what the decoder can follow
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
]


@pytest.mark.django_db
@pytest.mark.parametrize("raw", MALFORMED, ids=lambda raw: repr(raw[:20]))
@pytest.mark.parametrize("path", ALL_POSTS)
def test_malformed_json_is_400_naming_the_problem(borrower, officer, path, raw):
    client = client_for(officer if path in OFFICER_POSTS else borrower)

    response = client.post(path, raw, content_type="application/json")

    assert_refused(response)
    assert "JSON" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"null", b"[]", b'"text"', b"1", b"true", b"[{}]"], ids=repr)
@pytest.mark.parametrize("path", ALL_POSTS)
def test_json_that_is_not_an_object_is_400(borrower, officer, path, raw):
    client = client_for(officer if path in OFFICER_POSTS else borrower)

    response = client.post(path, raw, content_type="application/json")

    assert_refused(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/yaml"],
)
@pytest.mark.parametrize("path", ALL_POSTS)
def test_wrong_content_types_are_415(borrower, officer, path, content_type):
    client = client_for(officer if path in OFFICER_POSTS else borrower)

    response = client.post(path, b"amount=1", content_type=content_type)

    assert_refused(response, status=415)


@pytest.mark.django_db
@pytest.mark.parametrize("path", [p for p in ALL_POSTS if p != "/api/auth/login"])
def test_forms_are_only_for_the_oauth2_login(borrower, officer, path):
    client = client_for(officer if path in OFFICER_POSTS else borrower)

    response = client.post(
        path, "amount=1&idempotency_key=k", content_type="application/x-www-form-urlencoded"
    )

    assert_refused(response, status=415)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ALL_POSTS)
def test_oversized_bodies_are_413(borrower, officer, path, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    client = client_for(officer if path in OFFICER_POSTS else borrower)

    response = client.post(path, {"padding": "x" * 4096, "amount": "1.00"}, format="json")

    assert_refused(response, status=413)
