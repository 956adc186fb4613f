from django.contrib import admin

from idempotency.models import IdempotencyRecord
from lendingsite.readonly_admin import ReadOnlyAdmin


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    """Stored outcomes of money-moving requests: read-only for everyone."""

    list_display = ["key", "endpoint", "user", "response_status", "entry", "created_at"]
    list_filter = ["endpoint", "response_status"]
    list_select_related = ["user", "entry"]
    search_fields = ["key", "user__email"]
    show_full_result_count = False
