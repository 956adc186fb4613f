from django.contrib import admin

from lendingsite.money import format_inr
from lendingsite.readonly_admin import ReadOnlyAdmin
from wallets.models import Wallet


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    """Wallets are shown, never edited here: balances change only through ledger postings.

    No one, administrators included, may add, change or delete a wallet in the admin.
    """

    list_display = ["user_email", "user_name", "balance", "currency", "balance_updated_at"]
    list_select_related = ["user", "account"]
    list_filter = ["currency"]
    search_fields = ["user__email"]
    search_help_text = "Search by the owner's email."
    ordering = ["user__email"]
    show_full_result_count = False  # spares a second COUNT(*) over every wallet on a search
    fields = ["user", "account", "balance", "currency", "created_at", "balance_updated_at"]
    readonly_fields = fields

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, wallet: Wallet) -> str:
        return wallet.user.email

    @admin.display(description="Name", ordering="user__name")
    def user_name(self, wallet: Wallet) -> str:
        return wallet.user.name

    @admin.display(description="Balance", ordering="account__balance")
    def balance(self, wallet: Wallet) -> str:
        return format_inr(wallet.balance)

    @admin.display(description="Balance updated", ordering="account__updated_at")
    def balance_updated_at(self, wallet: Wallet):
        return wallet.account.updated_at
