from wallets.models import Wallet


def wallet_get_for_user(*, user) -> Wallet:
    return Wallet.objects.get(user=user)
