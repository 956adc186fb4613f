from decimal import Decimal

from django.conf import settings
from django.db import models


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
