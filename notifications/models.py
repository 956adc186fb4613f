"""The outbox: one row per event a borrower should hear about, per channel.

A row is written by the service that makes the event, in the event's own transaction
(``notifications.services.notification_add`` / ``notifications_add_many``), so an event
and its row commit or roll back together. ``manage.py send_notifications`` delivers the
pending rows and records each delivery's state here (docs/NOTIFICATIONS.md).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class Notification(models.Model):
    class Kind(models.TextChoices):
        """What happened. The label is the email's subject.

        Adding a kind is one line here, a text and an HTML template under
        ``templates/notifications/email/``, and the call in the service that makes the
        event. The column carries no choices, so a new kind needs no migration.
        """

        APPLICATION_RECEIVED = "application_received", "We have received your loan application"
        LOAN_APPROVED = "loan_approved", "Your loan is approved"
        LOAN_REJECTED = "loan_rejected", "Your loan application was not approved"
        LOAN_DISBURSED = "loan_disbursed", "Your loan has been paid into your wallet"
        REPAYMENT_RECEIVED = "repayment_received", "We have received your payment"
        INSTALLMENT_DUE_SOON = "installment_due_soon", "Your next installment is due soon"
        INSTALLMENT_OVERDUE = "installment_overdue", "Your installment is overdue"
        DELINQUENCY_CHANGED = "delinquency_changed", "Your loan's repayment status has changed"
        FEE_CHARGED = "fee_charged", "A late fee was charged on your loan"
        FEE_WAIVED = "fee_waived", "A late fee on your loan was waived"
        LOAN_CLOSED = "loan_closed", "Your loan is closed"
        LOAN_FORECLOSED = "loan_foreclosed", "Your loan is paid off"
        REPAYMENT_REVERSED = "repayment_reversed", "A payment on your loan was reversed"
        LOAN_WRITTEN_OFF = "loan_written_off", "Your loan has been written off"
        RECOVERY_RECEIVED = "recovery_received", "Payment received on your written-off loan"
        RECOVERY_REVERSED = "recovery_reversed", "A payment on your written-off loan was reversed"

    class Channel(models.TextChoices):
        EMAIL = "EMAIL", "Email"

    class State(models.TextChoices):
        PENDING = "PENDING", "Pending"  # waiting for its (next) attempt
        SENT = "SENT", "Sent"  # accepted by the mail server
        FAILED = "FAILED", "Failed"  # given up after the last attempt; the error is kept

    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    # What the row is about, unique per channel: ``<kind>:<the event's own id>`` (a
    # repayment's, an installment's, ...). A repeated write of one event (a close of
    # business run again) finds it taken and writes nothing.
    event_key = models.CharField(max_length=100)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    loan_id = models.BigIntegerField(null=True, blank=True)  # the loan it concerns, if any
    business_date = models.DateField()  # the business date of the event
    # The facts of the event as they were when it happened (amounts as strings).
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_default=Now())

    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_default=Now())
    last_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "event_key"], name="notifications_one_per_event_and_channel"
            ),
            models.CheckConstraint(
                condition=Q(state="SENT", sent_at__isnull=False)
                | (~Q(state="SENT") & Q(sent_at__isnull=True)),
                name="notifications_sent_at_when_sent",
            ),
            models.CheckConstraint(
                condition=~Q(state="FAILED") | ~Q(last_error=""),
                name="notifications_failed_has_error",
            ),
        ]
        indexes = [
            # The sender's queue: pending rows, oldest due first.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(state="PENDING"),
                name="notifications_pending_idx",
            ),
            # A borrower's notifications, newest first (GET /api/notifications).
            models.Index(fields=["recipient", "-id"], name="notifications_recipient_idx"),
        ]

    def __str__(self):
        return f"{self.kind} to {self.recipient_id} ({self.state})"

    @property
    def subject(self) -> str:
        try:
            title = self.Kind(self.kind).label
        except ValueError:
            title = self.kind.replace("_", " ").capitalize()
        return f"{title} (loan {self.loan_id})" if self.loan_id else str(title)
