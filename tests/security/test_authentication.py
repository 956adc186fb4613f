"""OWASP API2, broken authentication: what the existing token tests do not cover yet."""

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.tokens import token_pair_for
from tests.conftest import client_for

ME = "/api/auth/me"


def _me(token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(ME)


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_signed_with_the_right_key_but_another_algorithm_is_refused(borrower, algorithm):
    claims = dict(AccessToken.for_user(borrower).payload)
    token = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)

    assert _me(token).status_code == 401


@pytest.mark.django_db
def test_a_well_signed_token_without_a_user_is_refused(borrower):
    token = AccessToken.for_user(borrower)
    del token.payload["user_id"]

    assert _me(str(token)).status_code == 401


@pytest.mark.django_db
def test_a_token_of_a_deleted_user_is_refused():
    from tests.accounts.factories import UserFactory

    user = UserFactory(role=User.Role.OFFICER)
    token = token_pair_for(user)["access_token"]
    user.wallet.delete()  # an empty wallet; a user with one cannot be deleted (PROTECT)
    user.delete()

    assert _me(token).status_code == 401


@pytest.mark.django_db
def test_the_role_comes_from_the_database_not_from_the_token(officer):
    client = client_for(officer)
    assert client.get("/api/loans/admin/pending").status_code == 200

    User.objects.filter(pk=officer.pk).update(role=User.Role.BORROWER, is_staff=False)

    assert client.get("/api/loans/admin/pending").status_code == 403


@pytest.mark.django_db
def test_a_token_in_the_query_string_is_not_accepted(borrower):
    token = token_pair_for(borrower)["access_token"]

    assert APIClient().get(f"{ME}?access_token={token}&token={token}").status_code == 401


@pytest.mark.django_db
def test_a_refresh_token_cannot_be_reused_after_logout_even_once_rotated(borrower):
    pair = token_pair_for(borrower)
    client = client_for(borrower)
    rotated = APIClient().post("/api/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    new_refresh = rotated.json()["refresh_token"]

    assert client.post("/api/auth/logout", {"refresh_token": new_refresh}).status_code == 204
    for spent in (pair["refresh_token"], new_refresh):
        reuse = APIClient().post("/api/auth/refresh", {"refresh_token": spent})
        assert reuse.status_code == 401
        assert reuse.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_an_access_token_is_not_a_refresh_token(borrower):
    access = token_pair_for(borrower)["access_token"]

    response = APIClient().post("/api/auth/refresh", {"refresh_token": access})

    assert response.status_code == 401


@pytest.mark.django_db
def test_login_refuses_a_deactivated_user_like_a_wrong_password(api_client):
    from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory

    user = BorrowerFactory(email="gone@example.com")
    User.objects.filter(pk=user.pk).update(is_active=False)

    inactive = api_client.post(
        "/api/auth/login", {"email": "gone@example.com", "password": DEFAULT_PASSWORD}
    )
    wrong = api_client.post(
        "/api/auth/login", {"email": "gone@example.com", "password": "not-the-password"}
    )

    assert inactive.status_code == wrong.status_code == 401
    assert inactive.json() == wrong.json()
