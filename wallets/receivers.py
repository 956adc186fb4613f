"""The wallets app's part in the life of a user (connected in ``wallets.apps``)."""

from wallets.services import wallet_open


def open_wallet_for_new_user(sender, *, user, **kwargs) -> None:
    """Every user has a wallet, from the transaction that creates the user."""
    wallet_open(user=user)
