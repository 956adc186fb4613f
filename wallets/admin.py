from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ledger.selectors import posting_get, posting_list_deposits
from lendingsite.exceptions import ApplicationError
from lendingsite.money import format_inr
from lendingsite.readonly_admin import ReadOnlyAdmin
from lendingsite.statements import statement_download
from wallets.api.views import WalletStatementOutputSerializer
from wallets.models import Wallet
from wallets.services import wallet_deposit_reverse
from wallets.statement_pdf import wallet_statement_filename, wallet_statement_pdf
from wallets.statements import wallet_statement


class DepositReversalForm(forms.Form):
    # Blank reasons reach the service, whose refusal is the one rule.
    reason = forms.CharField(label="Reason", required=False, max_length=1000)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    """Wallets are shown, never edited here: balances change only through ledger postings.

    No one, administrators included, may add, change or delete a wallet in the admin. An
    officer with ``wallets.reverse_deposit`` reverses a deposit that bounced from the
    wallet's page (``wallets.services.wallet_deposit_reverse``, as the API does).
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The wallet, and its latest deposits with a Reverse link for those allowed."""
        wallet = self.get_object(request, object_id)
        may_reverse = request.user.has_perm("wallets.reverse_deposit")
        deposits = [
            {
                "id": posting.pk,
                "value_date": posting.entry.value_date,
                "amount": posting.amount,
                "reversed_on": (
                    posting.entry.reversed_by.value_date
                    if hasattr(posting.entry, "reversed_by")
                    else None
                ),
                "reverse_url": (
                    reverse("admin:wallets_wallet_reverse_deposit", args=[wallet.pk, posting.pk])
                    if may_reverse
                    else None
                ),
            }
            for posting in (posting_list_deposits(account_id=wallet.account_id) if wallet else [])
        ]
        extra_context = {**(extra_context or {}), "deposits": deposits}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:user_id>/reverse-deposit/<int:transaction_id>/",
                self.admin_site.admin_view(self.reverse_deposit_view),
                name="wallets_wallet_reverse_deposit",
            ),
            path(
                "<int:user_id>/statement/",
                self.admin_site.admin_view(self.statement_view),
                name="wallets_wallet_statement",
            ),
            *super().get_urls(),
        ]

    def reverse_deposit_view(self, request, user_id, transaction_id):
        """GET: the deposit and a reason box. POST: reverse it (it bounced).

        A refusal is shown as a message; when the wallet no longer holds the deposit, the
        message links the loans whose repayments spent it (reverse those first).
        """
        if not request.user.has_perm("wallets.reverse_deposit"):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("user", "account"), pk=user_id)
        posting = posting_get(posting_id=transaction_id)
        if posting is None or posting.account_id != wallet.account_id:
            raise PermissionDenied
        change_url = reverse("admin:wallets_wallet_change", args=[wallet.pk])
        form = DepositReversalForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            refusal = self._reverse(request, transaction_id, form.cleaned_data["reason"])
            if refusal is None or refusal.code != "reversal_reason_required":
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "wallet": wallet,
            "posting": posting,
            "form": form,
            "change_url": change_url,
            "title": f"Reverse deposit {posting.pk} of {wallet.user.email}",
        }
        return TemplateResponse(request, "admin/wallets/wallet/reverse_deposit.html", context)

    def _reverse(self, request, transaction_id, reason) -> ApplicationError | None:
        try:
            entry = wallet_deposit_reverse(
                transaction_id=transaction_id, officer=request.user, reason=reason
            )
        except ApplicationError as exc:
            spent = exc.extra.get("repayments") or []
            if spent:
                messages.error(
                    request,
                    format_html(
                        "{} Spent by: {}",
                        exc.message,
                        format_html_join(
                            ", ",
                            '<a href="{}">repayment #{} of {} on loan #{}</a>',
                            (
                                (
                                    reverse("admin:loans_loan_change", args=[r["loan_id"]]),
                                    r["repayment_id"],
                                    r["amount"],
                                    r["loan_id"],
                                )
                                for r in spent
                            ),
                        ),
                    ),
                )
            else:
                messages.error(request, exc.message)
            return exc
        amount = next(p.amount for p in entry.postings.all() if p.amount > 0)
        messages.success(
            request, f"Deposit {transaction_id} reversed: {format_inr(amount)} back to the bank."
        )
        return None

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
