"""Officers' second factor on the admin: a TOTP code from an authenticator app (django-otp).

- **When it is asked for.** With ``OTP_REQUIRED_FOR_STAFF`` on (the default outside
  ``DEBUG``) the admin lets a staff user in only in a session that passed a code
  (``request.user.is_verified()``, ``backoffice.site.LendingAdminSite.has_permission``).
  A staff user who enrolled a device is asked for its code at every admin login even
  with the setting off.
- **Enrolment.** An administrator starts it (``manage.py otp_enrol EMAIL``, or the
  "Start two-factor enrolment" action on users in the console): any earlier device is
  removed and a new, unconfirmed one is made. The officer then signs in with their
  password, is sent to the enrolment page (a QR code and the secret), and confirms it
  with a first code; that session counts as verified. A password alone never enrols a
  device the administrator did not start, so a stolen password cannot set up its own
  second factor; a staff user with no device at all is refused while codes are required.
- **A code works once.** A device remembers the time step of the last code it accepted
  and refuses it and any older one (``TOTPDevice.last_t``), under a row lock; one step
  of clock drift either way is accepted. Wrong codes count as failed logins
  (``accounts.login_throttle``) and slow the device down (django-otp's own throttle).
"""

import base64

from django.conf import settings
from django.db import transaction
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

DEVICE_NAME = "authenticator"


def second_factor_required() -> bool:
    return settings.OTP_REQUIRED_FOR_STAFF


def device_confirmed_list(*, user: User) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))


def device_pending_get(*, user: User) -> TOTPDevice | None:
    """The device an administrator issued and the user has not confirmed yet."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def device_verify(*, user: User, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts ``token`` (and will not accept it again), if any."""
    token = token.strip().replace(" ", "")
    if not token.isdigit():
        return None
    for device in device_confirmed_list(user=user):
        verified = verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    return None


@transaction.atomic
def otp_enrolment_start(*, user_id: int) -> TOTPDevice:
    """Remove the user's devices and issue a new, unconfirmed one (a lost phone, or the
    first enrolment). The user confirms it with a code at their next admin login."""
    user = User.objects.select_for_update().get(pk=user_id)
    if not user.is_staff:
        raise ValueError(f"{user.email} is not staff: only the admin asks for a second factor")
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


@transaction.atomic
def otp_enrolment_confirm(*, user: User, token: str) -> TOTPDevice | None:
    """Confirm the pending device with its first code; None if the code is wrong."""
    pending = device_pending_get(user=user)
    if pending is None:
        return None
    device = TOTPDevice.objects.select_for_update().get(pk=pending.pk)
    token = token.strip().replace(" ", "")
    if not token.isdigit() or not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


def device_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps take it when typed in (base32)."""
    return base64.b32encode(device.bin_key).decode()
