from decimal import Decimal

from django.conf import settings
from django.db import models

from lendingsite.db_roles import APPEND_ONLY


class Wallet(models.Model):
    """A user's money held by the platform, on a ledger account of its own.

    The balance is the ledger account's cached balance (``ledger.models.Account``): it
    changes only in the ledger's posting service, in the same transaction as the
    postings that explain it; the database refuses a negative one, and
    ``manage.py reconcile`` checks it against the postings.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, primary_key=True, related_name="wallet"
    )
    account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="wallet"
    )
    currency = models.CharField(max_length=3, default="INR")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = [("reverse_deposit", "Can reverse a deposit that bounced")]

    def __str__(self):
        return f"Wallet of {self.user_id}"

    @property
    def balance(self) -> Decimal:
        return self.account.balance


class WalletTransfer(models.Model):
    """A deposit into or a withdrawal from a wallet: the business record of its journal
    entry, which ``manage.py reconcile`` checks the entry against (``entries_justified``).

    Written with the entry, in its transaction, by ``wallets.services``; never changed.
    Unlike the idempotency record of the request, it is kept for good.
    """

    class Kind(models.TextChoices):
        DEPOSIT = "DEPOSIT", "Deposit"
        WITHDRAWAL = "WITHDRAWAL", "Withdrawal"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transfers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    idempotency_key = models.CharField(max_length=255)
    entry = models.OneToOneField("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    app_role_privileges = APPEND_ONLY

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="wallets_transfer_amount_positive"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount} wallet {self.wallet_id}"
