"""Officers' second factor on the admin (accounts/second_factor.py): a TOTP code, asked
for at the admin's login, required for staff when ``OTP_REQUIRED_FOR_STAFF`` is on."""

import base64
import re
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def required(settings):
    settings.OTP_REQUIRED_FOR_STAFF = True
    # django-otp's own slow-down after a wrong code would hide what these tests look at.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code(device: TOTPDevice, *, steps_ago: int = 0) -> str:
    """The code an authenticator shows now (or ``steps_ago`` time steps earlier),
    computed from the device's key by RFC 6238 as the app does."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() - steps_ago * device.step
    return f"{totp.token():0{device.digits}d}"


def enrolled_officer():
    officer = OfficerFactory()
    device = TOTPDevice.objects.create(user=officer, name="authenticator", confirmed=True)
    return officer, device


def sign_in(client: Client, user, token: str | None = None):
    data = {"username": user.email, "password": DEFAULT_PASSWORD, "next": "/admin/"}
    if token is not None:
        data["otp_token"] = token
    return client.post(LOGIN, data)


def reaches_admin(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_without_a_code_a_staff_user_cannot_reach_the_admin(required):
    officer, _ = enrolled_officer()
    client = Client()

    response = sign_in(client, officer)

    assert response.status_code == 200
    assert "Enter the authentication code" in response.content.decode()
    assert not reaches_admin(client)


@pytest.mark.django_db
def test_with_the_current_code_they_can(required):
    officer, device = enrolled_officer()
    client = Client()

    response = sign_in(client, officer, code(device))

    assert response.status_code == 302
    assert reaches_admin(client)
    assert client.get("/admin/dashboard/").status_code == 200


@pytest.mark.django_db
def test_a_code_is_accepted_once(required):
    officer, device = enrolled_officer()
    used = code(device)
    assert sign_in(Client(), officer, used).status_code == 302

    again = Client()
    response = sign_in(again, officer, used)

    assert response.status_code == 200
    assert "wrong, expired or already used" in response.content.decode()
    assert not reaches_admin(again)


@pytest.mark.django_db
def test_an_old_code_is_refused(required):
    """One time step of drift is accepted either way; two steps back is too old."""
    officer, device = enrolled_officer()
    client = Client()

    response = sign_in(client, officer, code(device, steps_ago=2))

    assert "wrong, expired or already used" in response.content.decode()
    assert not reaches_admin(client)


@pytest.mark.django_db
def test_a_wrong_code_is_a_failed_login_and_slows_the_account_down(required, settings):
    """The password alone must not open unlimited guessing of the 6 digits."""
    officer, device = enrolled_officer()
    right = code(device)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert "wrong, expired" in sign_in(Client(), officer, wrong).content.decode()

    response = sign_in(Client(), officer, right)

    assert "Too many failed login attempts for this account" in response.content.decode()


@pytest.mark.django_db
def test_staff_without_an_authenticator_are_refused_while_codes_are_required(required):
    officer = OfficerFactory()
    client = Client()

    response = sign_in(client, officer)

    assert "has no authenticator yet" in response.content.decode()
    assert not reaches_admin(client)


@pytest.mark.django_db
def test_an_officer_enrols_after_an_administrator_starts_it(required):
    officer = OfficerFactory()
    call_command("otp_enrol", officer.email.upper(), stdout=StringIO())
    client = Client()

    signed_in = sign_in(client, officer)  # the password alone: enrolment pending
    assert signed_in.status_code == 302
    assert not reaches_admin(client)
    assert client.get("/admin/").url.startswith("/admin/login/")
    sent = client.get("/admin/login/")
    assert sent.status_code == 302 and sent.url == "/admin/otp/enrol/"
    page = client.get("/admin/otp/enrol/")
    assert page.status_code == 200
    secret = re.search(r'id="otp-secret">([A-Z2-7]+)<', page.content.decode()).group(1)
    device = TOTPDevice.objects.get(user=officer)
    assert secret.encode() == base64.b32encode(device.bin_key)
    assert "<svg" in page.content.decode()

    assert client.post("/admin/otp/enrol/", {"otp_token": "000000x"}).status_code == 400
    confirmed = client.post("/admin/otp/enrol/", {"otp_token": code(device)})

    assert confirmed.status_code == 302 and confirmed.url == "/admin/"
    assert reaches_admin(client)
    device.refresh_from_db()
    assert device.confirmed
    # From now on the code is asked for at every sign-in.
    assert "Enter the authentication code" in sign_in(Client(), officer).content.decode()


@pytest.mark.django_db
def test_enrolment_pages_are_not_for_anyone_else(required):
    borrower = BorrowerFactory()
    officer, _ = enrolled_officer()
    anonymous = Client()

    assert anonymous.get("/admin/otp/enrol/").url == "/admin/login/"
    with pytest.raises(CommandError, match="is not staff"):
        call_command("otp_enrol", borrower.email, stdout=StringIO())
    with pytest.raises(CommandError, match="no user"):
        call_command("otp_enrol", "nobody@example.com", stdout=StringIO())
    # An enrolled officer with no pending device has nothing to confirm there.
    client = Client()
    client.force_login(officer)
    assert client.get("/admin/otp/enrol/").url == "/admin/login/"


@pytest.mark.django_db
def test_restarting_enrolment_removes_the_lost_device(required):
    officer, lost = enrolled_officer()

    call_command("otp_enrol", officer.email, stdout=StringIO())

    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
    assert TOTPDevice.objects.get(user=officer).confirmed is False
    # The lost phone's code opens nothing: the session is sent to confirm the new device.
    client = Client()
    sign_in(client, officer, code(lost))
    assert not reaches_admin(client)
    assert client.get("/admin/login/").url == "/admin/otp/enrol/"


@pytest.mark.django_db
def test_codes_are_off_in_development_and_tests_unless_turned_on():
    """``OTP_REQUIRED_FOR_STAFF`` is off here (pyproject's test environment), as in DEBUG:
    a staff user without an authenticator signs in with the password (the demo, the
    browser tests); one who enrolled is still asked for the code."""
    officer = OfficerFactory()
    client = Client()
    assert sign_in(client, officer).status_code == 302
    assert reaches_admin(client)

    _, device = enrolled_officer()
    enrolled = device.user
    assert "Enter the authentication code" in sign_in(Client(), enrolled).content.decode()
    assert sign_in(Client(), enrolled, code(device)).status_code == 302
