"""Reads of the notifications app."""

from django.db.models import QuerySet

from notifications.models import Notification


def notification_list_for_user(*, user, before_id: int | None = None) -> QuerySet[Notification]:
    """The user's own notifications, newest first; with ``before_id``, older ones only."""
    rows = Notification.objects.filter(recipient=user).order_by("-id")
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return rows
