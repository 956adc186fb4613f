"""The base of every domain error.

Apps subclass :class:`ApplicationError`; ``lendingsite.exception_handlers`` turns each
into an HTTP response, so views never catch domain errors themselves.
"""


class ApplicationError(Exception):
    """A request was understood but refused by a business rule (HTTP 400 by default)."""

    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        extra: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra or {}
        self.headers = headers or {}


class NotFoundError(ApplicationError):
    """Raised when an object does not exist or is not visible to the caller."""

    status_code = 404
    default_code = "not_found"


class ConflictError(ApplicationError):
    """Raised when the request conflicts with the current state of a resource."""

    status_code = 409
    default_code = "conflict"


class UnprocessableError(ApplicationError):
    """Raised when a well-formed request cannot be processed as sent (HTTP 422)."""

    status_code = 422
    default_code = "unprocessable"
