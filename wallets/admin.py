from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from lendingsite.money import format_inr
from lendingsite.readonly_admin import ReadOnlyAdmin
from lendingsite.statements import statement_download
from wallets.api.views import WalletStatementOutputSerializer
from wallets.models import Wallet
from wallets.statement_pdf import wallet_statement_filename, wallet_statement_pdf
from wallets.statements import wallet_statement


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

    def get_urls(self):
        return [
            path(
                "<int:user_id>/statement/",
                self.admin_site.admin_view(self.statement_view),
                name="wallets_wallet_statement",
            ),
            *super().get_urls(),
        ]

    def statement_view(self, request, user_id):
        """Choose a period and download the wallet's statement, as the API gives it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("user"), pk=user_id)
        return statement_download(
            request,
            build=lambda **period: wallet_statement(user=wallet.user, **period),
            as_json=lambda statement: WalletStatementOutputSerializer(statement).data,
            as_pdf=wallet_statement_pdf,
            filename=wallet_statement_filename,
            context={
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Wallet statement of {wallet.user.email}",
                "subject": str(wallet),
                "change_url": reverse("admin:wallets_wallet_change", args=[wallet.pk]),
                "changelist_url": reverse("admin:wallets_wallet_changelist"),
                "explanation": "Every posting on the wallet with the balance it left: the "
                "statement the holder gets from the API.",
                "default_period": "from the wallet's first posting to the business date",
            },
        )
