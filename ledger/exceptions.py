from lendingsite.exceptions import ApplicationError, ConflictError


class LedgerError(ApplicationError):
    """Base of the ledger's refusals."""


class InsufficientFundsError(LedgerError):
    """Raised when a posting would take a wallet below zero."""

    default_code = "insufficient_funds"


class DuplicateEntryError(ConflictError):
    """Raised when an entry's reference was already posted (the same money, twice)."""

    default_code = "duplicate_entry"


class UnbalancedEntryError(ValueError):
    """Raised for a programming error: legs that do not sum to zero, or fewer than two."""
