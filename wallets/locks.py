from django.db.models import QuerySet

from wallets.models import Wallet


def wallet_qs_select_for_update() -> QuerySet[Wallet]:
    """Wallet rows locked in primary-key order (the project's one lock order: loan → wallets)."""
    return Wallet.objects.order_by("pk").select_for_update(of=("self",), no_key=True)
