from decimal import Decimal

from django.conf import settings
from django.db import models


class Wallet(models.Model):
    """A borrower's money held by the platform.

    ``balance`` is a cached figure for fast reads: it changes only inside the ledger's
    posting service, in the same transaction as the postings that explain it, and
    ``manage.py reconcile`` checks it against them. The database refuses a negative balance.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, primary_key=True, related_name="wallet"
    )
    account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="wallet"
    )
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="INR")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="wallets_wallet_balance_non_negative"
            ),
        ]

    def __str__(self):
        return f"Wallet of {self.user_id}: {self.balance} {self.currency}"
