from django.contrib import admin

from ledger.models import Account, JournalEntry, Posting
from lendingsite.admin_money import inr_column
from lendingsite.csv_export import DATE, DATETIME, MONEY, NUMBER, Column
from lendingsite.readonly_admin import ReadOnlyAdmin


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ["account", "amount_inr"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    amount_inr = inr_column("amount", "amount (credit positive, debit negative)")

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
    # *Export CSV*: one row per posting, its entry's columns repeated; the amounts of an
    # entry's rows sum to zero. The postings are exported only to those who may view them.
    export_permissions = ("ledger.view_posting",)
    export_then_by = ("postings__id",)
    export_columns = (
        Column("entry_id", "id", NUMBER),
        Column("kind", "kind"),
        Column("reference", "reference"),
        Column("description", "description"),
        Column("value_date", "value_date", DATE),
        Column("created_at", "created_at", DATETIME),
        Column("created_by", "created_by__email"),
        Column("reverses_entry_id", "reverses_id", NUMBER),
        Column("posting_id", "postings__id", NUMBER),
        Column("account_code", "postings__account__code"),
        Column("account_name", "postings__account__name"),
        Column("amount", "postings__amount", MONEY),
    )


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "entry", "account", "amount_inr"]
    list_select_related = ["entry", "account"]
    search_fields = ["account__code", "entry__reference"]
    show_full_result_count = False

    amount_inr = inr_column("amount", "amount")
