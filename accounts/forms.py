from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from accounts.login_throttle import login_failed
from accounts.second_factor import (
    device_confirmed_list,
    device_pending_get,
    device_verify,
    second_factor_required,
)
from lendingsite.http import client_ip


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's login: email and password within the failed-login limits (saying so
    when they refuse), then the code of the officer's authenticator
    (``accounts/second_factor.py``)."""

    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=12,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="The 6-digit code of your authenticator app, once enrolled.",
    )

    def clean(self):
        try:
            cleaned = super().clean()
        except ValidationError:
            refusal = getattr(self.request, "login_refusal", None)
            if refusal is None:
                raise
            raise ValidationError(
                f"Too many failed login attempts for {refusal.reason}. "
                f"Try again in {refusal.retry_after} seconds.",
                code="throttled",
            ) from None
        self._check_second_factor(self.get_user())
        return cleaned

    def _check_second_factor(self, user) -> None:
        if not device_confirmed_list(user=user):
            if second_factor_required() and device_pending_get(user=user) is None:
                raise ValidationError(
                    "Staff sign in with an authentication code, and this account has no "
                    "authenticator yet. Ask an administrator to start your enrolment.",
                    code="otp_not_enrolled",
                )
            # Enrolment started by an administrator: the session goes to the enrolment
            # page (backoffice.site), unverified until the first code confirms the device.
            return
        token = self.cleaned_data.get("otp_token") or ""
        if not token:
            raise ValidationError(
                "Enter the authentication code from your authenticator app.",
                code="otp_required",
            )
        device = device_verify(user=user, token=token)
        if device is None:
            login_failed(email=user.email, address=client_ip(self.request))
            raise ValidationError(
                "That authentication code is wrong, expired or already used.",
                code="otp_invalid",
            )
        # django_otp's user_logged_in receiver marks the session as verified by it.
        user.otp_device = device
