import bcrypt
import pytest

from accounts.models import User
from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory

URL = "/api/auth/login"


@pytest.mark.django_db
def test_login_with_json_email_and_password(api_client, borrower):
    response = api_client.post(
        URL, {"email": borrower.email, "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["id"] == borrower.pk


@pytest.mark.django_db
def test_login_with_oauth2_password_form(api_client, borrower):
    response = api_client.post(
        URL, {"username": borrower.email.upper(), "password": DEFAULT_PASSWORD}, format="multipart"
    )
    form = api_client.post(
        URL,
        f"username={borrower.email}&password={DEFAULT_PASSWORD}",
        content_type="application/x-www-form-urlencoded",
    )

    assert form.status_code == 200, form.content
    assert form.json()["user"]["email"] == borrower.email
    # multipart is not an accepted body type for this API
    assert response.status_code == 415


@pytest.mark.django_db
def test_wrong_password_is_401_with_bearer_challenge(api_client, borrower):
    response = api_client.post(URL, {"email": borrower.email, "password": "nope"}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"] == "Incorrect email or password."


@pytest.mark.django_db
def test_unknown_email_is_the_same_401(api_client):
    response = api_client.post(URL, {"email": "ghost@example.com", "password": "x"}, format="json")

    assert response.status_code == 401
    assert response.json()["detail"] == "Incorrect email or password."


@pytest.mark.django_db
def test_missing_login_field_is_400(api_client):
    response = api_client.post(URL, {"password": "x"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()


def _fail(client, email, ip):
    return client.post(URL, {"email": email, "password": "bad"}, format="json", REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_repeated_failures_for_one_email_slow_it_down_with_429(api_client, borrower, settings):
    """Each attempt from a different IP: the email alone slows further attempts down."""
    limit = settings.LOGIN_FAILURE_LIMIT
    statuses = [_fail(api_client, borrower.email, f"10.0.0.{n}").status_code for n in range(limit)]

    slowed = api_client.post(
        URL,
        {"email": borrower.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="10.9.9.9",
    )

    assert statuses == [401] * limit
    assert slowed.status_code == 429
    assert int(slowed["Retry-After"]) > 0
    assert "Too many failed login attempts" in slowed.json()["detail"]


@pytest.mark.django_db
def test_repeated_failures_from_one_ip_lock_out_that_ip(api_client, borrower, settings):
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    statuses = [
        _fail(api_client, f"guess{n}@example.com", "10.1.1.1").status_code for n in range(limit)
    ]

    same_ip = api_client.post(
        URL,
        {"email": borrower.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="10.1.1.1",
    )
    other_ip = api_client.post(
        URL,
        {"email": borrower.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="10.2.2.2",
    )

    assert statuses == [401] * limit
    assert same_ip.status_code == 429
    assert other_ip.status_code == 200


@pytest.mark.django_db
def test_a_success_before_the_limit_resets_the_count(api_client, borrower, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _fail(api_client, borrower.email, "10.3.0.1")
    ok = api_client.post(
        URL,
        {"email": borrower.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="10.3.0.1",
    )

    after = _fail(api_client, borrower.email, "10.3.0.1")

    assert ok.status_code == 200
    assert after.status_code == 401


@pytest.mark.django_db
def test_bcrypt_hash_from_previous_system_verifies_and_is_upgraded_to_argon2(api_client, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
    ]
    user = BorrowerFactory()
    legacy = bcrypt.hashpw(b"legacy-secret-99", bcrypt.gensalt(rounds=4)).decode()
    User.objects.filter(pk=user.pk).update(password=f"bcrypt${legacy}")

    response = api_client.post(
        URL, {"email": user.email, "password": "legacy-secret-99"}, format="json"
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


@pytest.mark.django_db
@pytest.mark.parametrize(("attempt", "status"), [("right", 200), ("wrong", 401)])
def test_a_legacy_bcrypt_login_longer_than_72_bytes_is_answered_not_a_500(
    api_client, attempt, status
):
    """The previous system's bcrypt hashed the first 72 bytes of longer passwords; bcrypt 5
    refuses them outright. Such a login is checked as the old system checked it."""
    long_password = "correct horse battery staple " * 4  # 116 bytes
    user = BorrowerFactory()
    legacy = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    User.objects.filter(pk=user.pk).update(password=f"bcrypt${legacy}")
    sent = long_password if attempt == "right" else "x" * 100

    response = api_client.post(URL, {"email": user.email, "password": sent}, format="json")

    assert response.status_code == status


@pytest.mark.django_db
def test_a_legacy_bcrypt_password_cut_inside_a_character_still_verifies(api_client):
    long_password = "a" * 71 + "\u00e9" * 10  # the 72nd byte is the first half of an é
    user = BorrowerFactory()
    legacy = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    User.objects.filter(pk=user.pk).update(password=f"bcrypt${legacy}")

    response = api_client.post(URL, {"email": user.email, "password": long_password}, format="json")

    assert response.status_code == 200
