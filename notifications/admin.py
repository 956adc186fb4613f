from django.contrib import admin

from lendingsite.readonly_admin import ReadOnlyAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The outbox and each row's delivery: shown, never edited (the sender writes it).

    A row given up (FAILED) is sent again by ``manage.py send_notifications
    --requeue-failed`` once its cause is fixed (docs/OPERATIONS.md).
    """

    list_display = [
        "id",
        "created_at",
        "kind",
        "channel",
        "recipient_email",
        "loan_id",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    ]
    list_select_related = ["recipient"]
    list_filter = ["state", "kind", "channel", "business_date"]
    search_fields = ["recipient__email", "event_key", "=loan_id"]
    search_help_text = "Search by the recipient's email, the event key or the loan id."
    ordering = ["-id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "kind",
        "channel",
        "event_key",
        "recipient",
        "loan_id",
        "business_date",
        "payload",
        "created_at",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    readonly_fields = fields

    @admin.display(description="Recipient", ordering="recipient__email")
    def recipient_email(self, row: Notification) -> str:
        return row.recipient.email

    @admin.display(description="Last error")
    def short_error(self, row: Notification) -> str:
        return row.last_error[:80]
