from lendingsite.exceptions import ApplicationError


class AccountError(ApplicationError):
    """Base of the accounts app's refusals."""


class EmailTakenError(AccountError):
    """Raised when registering an email that already belongs to a user."""

    default_code = "email_taken"
