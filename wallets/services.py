from django.conf import settings

from wallets.models import Wallet


def wallet_open(*, user) -> Wallet:
    """Open an empty wallet for a new user (called inside the registration transaction)."""
    return Wallet.objects.create(user=user, currency=settings.CURRENCY)
