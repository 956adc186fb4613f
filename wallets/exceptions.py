from lendingsite.exceptions import ApplicationError, ConflictError, NotFoundError


class WalletError(ApplicationError):
    """Base of the wallets app's refusals."""


class DepositNotFoundError(NotFoundError):
    """Raised when a wallet transaction does not exist or is not a deposit."""


class DepositReversalError(ConflictError):
    """Raised when a deposit cannot be reversed now; ``code`` names why."""

    default_code = "not_reversible"


class WalletForbiddenError(WalletError):
    """Raised when an officer may not reverse this deposit (no permission, own wallet)."""

    status_code = 403
    default_code = "forbidden"
