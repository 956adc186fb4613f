import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tokens import token_pair_for

ME = "/api/auth/me"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _get_me(token: str | None, scheme: str = "Bearer"):
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
    return client.get(ME)


@pytest.mark.django_db
def test_me_returns_the_caller(borrower_client, borrower):
    response = borrower_client.get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": borrower.pk,
        "name": borrower.name,
        "email": borrower.email,
        "role": "BORROWER",
    }


def _expired(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


def _wrong_key(user):
    claims = dict(AccessToken.for_user(user).payload)
    return jwt.encode(claims, "not-the-server-key-0123456789abcdef", algorithm="HS256")


def _alg_none(user):
    claims = dict(AccessToken.for_user(user).payload)
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def _tampered(user):
    header, payload, signature = str(AccessToken.for_user(user)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["user_id"] = str(int(claims["user_id"]) + 1000)
    return f"{header}.{_b64(claims)}.{signature}"


def _refresh_as_access(user):
    return token_pair_for(user)["refresh_token"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_token",
    [
        lambda user: None,
        lambda user: "garbage",
        lambda user: "a.b.c",
        _expired,
        _wrong_key,
        _alg_none,
        _tampered,
        _refresh_as_access,
    ],
    ids=[
        "missing",
        "garbage",
        "malformed",
        "expired",
        "wrong-key",
        "alg-none",
        "tampered",
        "refresh-token",
    ],
)
def test_bad_tokens_are_401_with_bearer_challenge(borrower, make_token):
    response = _get_me(make_token(borrower))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert isinstance(response.json()["detail"], str)


@pytest.mark.django_db
def test_wrong_scheme_is_401(borrower):
    response = _get_me(token_pair_for(borrower)["access_token"], scheme="Basic")

    assert response.status_code == 401


@pytest.mark.django_db
def test_token_of_a_deactivated_user_is_401(borrower):
    token = token_pair_for(borrower)["access_token"]
    borrower.is_active = False
    borrower.save(update_fields=["is_active"])

    assert _get_me(token).status_code == 401


@pytest.mark.django_db
def test_refresh_rotates_and_the_old_refresh_token_is_then_refused(api_client, borrower):
    refresh = token_pair_for(borrower)["refresh_token"]

    first = api_client.post("/api/auth/refresh", {"refresh_token": refresh}, format="json")
    replay = api_client.post("/api/auth/refresh", {"refresh_token": refresh}, format="json")

    assert first.status_code == 200
    assert first.json()["refresh_token"] != refresh
    assert _get_me(first.json()["access_token"]).status_code == 200
    assert replay.status_code == 401


@pytest.mark.django_db
def test_logout_blacklists_the_refresh_token(borrower):
    pair = token_pair_for(borrower)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")

    logout = client.post(
        "/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json"
    )
    refresh = APIClient().post(
        "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
    )

    assert logout.status_code == 204
    assert refresh.status_code == 401


@pytest.mark.django_db
def test_logout_refuses_someone_elses_refresh_token(borrower, officer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(borrower)['access_token']}")

    response = client.post(
        "/api/auth/logout",
        {"refresh_token": token_pair_for(officer)["refresh_token"]},
        format="json",
    )

    assert response.status_code == 400
    assert "refresh_token" in response.json()


def test_signing_algorithm_is_pinned():
    assert settings.SIMPLE_JWT["ALGORITHM"] == "HS256"


@pytest.mark.django_db(transaction=True)
def test_one_refresh_token_refreshed_concurrently_succeeds_once():
    from tests.accounts.factories import BorrowerFactory
    from tests.concurrency import run_concurrently

    refresh = token_pair_for(BorrowerFactory())["refresh_token"]

    def refresh_once():
        return APIClient().post("/api/auth/refresh", {"refresh_token": refresh}, format="json")

    statuses = sorted(r.status_code for r in run_concurrently([refresh_once] * 8))

    assert statuses == [200] + [401] * 7


@pytest.mark.django_db
@pytest.mark.parametrize("path", [ME, "/api/wallet/balance"])
def test_logout_also_revokes_the_access_token(path):
    from tests.accounts.factories import BorrowerFactory

    pair = token_pair_for(BorrowerFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
    assert client.get(path).status_code == 200

    logout = client.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]})

    assert logout.status_code == 204
    assert client.get(path).status_code == 401


def _session(user):
    pair = token_pair_for(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
    return client, pair["refresh_token"]


def _refresh(refresh_token):
    return APIClient().post("/api/auth/refresh", {"refresh_token": refresh_token}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("path", [ME, "/api/wallet/balance", "/api/loans/my-loans"])
def test_a_password_change_revokes_every_token_of_the_user_at_once(path):
    from accounts.models import User
    from tests.accounts.factories import BorrowerFactory

    user = BorrowerFactory()
    client, refresh = _session(user)
    assert client.get(path).status_code == 200

    changed = User.objects.get(pk=user.pk)  # any path: here the shell's
    changed.set_password("a-brand-new-pass-phrase")
    changed.save()

    assert client.get(path).status_code == 401
    assert _refresh(refresh).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("path", [ME, "/api/wallet/balance", "/api/loans/calculate-emi"])
def test_a_deactivated_user_loses_access_on_every_view_at_once(path):
    from accounts.models import User
    from tests.accounts.factories import BorrowerFactory

    user = BorrowerFactory()
    client, refresh = _session(user)

    deactivated = User.objects.get(pk=user.pk)
    deactivated.is_active = False
    deactivated.save()

    if path.endswith("calculate-emi"):
        response = client.post(path, {"principal_amount": "1000.00", "tenure_months": 6})
    else:
        response = client.get(path)
    assert response.status_code == 401
    assert _refresh(refresh).status_code == 401


@pytest.mark.django_db
def test_saving_a_user_without_changing_credentials_keeps_the_tokens():
    from accounts.models import User
    from tests.accounts.factories import BorrowerFactory

    user = BorrowerFactory()
    client, refresh = _session(user)

    renamed = User.objects.get(pk=user.pk)
    renamed.name = "New Name"
    renamed.save()

    assert client.get(ME).status_code == 200
    assert _refresh(refresh).status_code == 200


@pytest.mark.django_db
def test_a_login_right_after_a_password_change_gives_tokens_that_work():
    from accounts.models import User
    from tests.accounts.factories import BorrowerFactory

    user = BorrowerFactory()
    _session(user)
    changed = User.objects.get(pk=user.pk)
    changed.set_password("a-brand-new-pass-phrase")
    changed.save()

    login = APIClient().post(
        "/api/auth/login",
        {"email": user.email, "password": "a-brand-new-pass-phrase"},
        format="json",
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access_token']}")

    assert client.get(ME).status_code == 200
    assert client.get("/api/wallet/balance").status_code == 200
    assert _refresh(login.json()["refresh_token"]).status_code == 200
