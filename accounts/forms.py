from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's login, saying so when the failed-login limits refuse an attempt."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            refusal = getattr(self.request, "login_refusal", None)
            if refusal is None:
                raise
            raise ValidationError(
                f"Too many failed login attempts for {refusal.reason}. "
                f"Try again in {refusal.retry_after} seconds.",
                code="throttled",
            ) from None
