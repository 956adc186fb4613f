from lendingsite.exceptions import ApplicationError, ConflictError, UnprocessableError


class IdempotencyKeyError(ApplicationError):
    """Raised when a money-moving request has no usable idempotency key."""

    default_code = "idempotency_key_invalid"


class IdempotencyKeyInFlightError(ConflictError):
    """Raised when another request with the same key is still being processed."""

    default_code = "idempotency_key_in_flight"


class IdempotencyKeyReusedError(UnprocessableError):
    """Raised when a key is sent again with a different request body."""

    default_code = "idempotency_key_reused"
