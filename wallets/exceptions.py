from lendingsite.exceptions import ApplicationError


class WalletError(ApplicationError):
    """Base of the wallets app's refusals."""
