from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model shown in the back office and changed by nobody: no add, change or delete.

    For the books and the records that explain them (ledger, wallets, idempotency
    records): they change only through the services.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
