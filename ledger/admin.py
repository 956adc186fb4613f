from django.contrib import admin

from ledger.models import Account, JournalEntry, Posting
from lendingsite.readonly_admin import ReadOnlyAdmin


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ["account", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "reference", "description", "created_by", "created_at"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["created_by"]
    search_fields = ["reference", "idempotency_key"]
    date_hierarchy = "created_at"
    inlines = [PostingInline]
    show_full_result_count = False


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "entry", "account", "amount"]
    list_select_related = ["entry", "account"]
    search_fields = ["account__code", "entry__reference"]
    show_full_result_count = False
