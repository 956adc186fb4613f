"""An outbox row as an email: subject, text and HTML bodies, and its idempotency headers.

The bodies are the templates ``templates/notifications/email/<kind>.txt`` and
``<kind>.html``; they extend ``base.txt`` / ``base.html`` and get the recipient, the
row, and the event's facts (``payload``) with amounts as ``Decimal`` and dates as
``date``, formatted by the ``notifications`` template filters (``inr``).

The ``Message-ID`` and ``X-Lending-Idempotency-Key`` are derived from the row alone, so
a message sent again after a crash (docs/NOTIFICATIONS.md) carries the same ones.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from notifications.models import Notification

IDEMPOTENCY_HEADER = "X-Lending-Idempotency-Key"


def idempotency_key(row: Notification) -> str:
    return f"notification-{row.pk}-{row.channel.lower()}"


def message_id(row: Notification) -> str:
    return f"<{idempotency_key(row)}@{settings.NOTIFICATIONS_MESSAGE_ID_DOMAIN}>"


def _value(key: str, value):
    """A payload value as templates want it: amounts as Decimal, dates as date."""
    if not isinstance(value, str):
        return value
    if key.endswith(("_date", "_on")):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if key.endswith(("amount", "_part")) or key == "fee":
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def notification_context(row: Notification) -> dict:
    facts = {key: _value(key, value) for key, value in (row.payload or {}).items()}
    return {
        "notification": row,
        "recipient": row.recipient,
        "lender_name": settings.LENDER_NAME,
        "loan_id": row.loan_id,
        "business_date": row.business_date,
        **facts,
    }


def notification_email(row: Notification, *, connection=None) -> EmailMultiAlternatives:
    """The email for an outbox row (rendering errors propagate: the row is retried)."""
    context = notification_context(row)
    text = render_to_string(f"notifications/email/{row.kind}.txt", context)
    html = render_to_string(f"notifications/email/{row.kind}.html", context)
    email = EmailMultiAlternatives(
        subject=row.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient.email],
        headers={"Message-ID": message_id(row), IDEMPOTENCY_HEADER: idempotency_key(row)},
        connection=connection,
    )
    email.attach_alternative(html, "text/html")
    return email
