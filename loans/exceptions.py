from lendingsite.exceptions import ApplicationError, ConflictError, NotFoundError

# The code of the refusal of a rejection without a reason (the console asks again).
REASON_REQUIRED = "rejection_reason_required"


class LoanError(ApplicationError):
    """Base of the loans app's refusals."""


class LoanNotFoundError(NotFoundError):
    """Raised when a loan does not exist or does not belong to the caller."""


class EligibilityError(LoanError):
    """Raised when an application breaks an eligibility rule; ``code`` names the rule."""


class LoanStateError(ConflictError):
    """Raised when the loan is not in a state that allows the action."""

    default_code = "invalid_state"


class SameOfficerError(ConflictError):
    """Raised when the officer who approved a large loan also tries to disburse it."""

    default_code = "maker_checker"


class RepaymentError(LoanError):
    """Raised when a repayment amount is not acceptable for the loan."""


class DecisionForbiddenError(LoanError):
    """Raised when an officer may not take this decision: no permission, or their own loan."""

    status_code = 403
    default_code = "forbidden"


class RepaymentNotFoundError(NotFoundError):
    """Raised when a repayment does not exist or is not a repayment of the loan named."""


class RecoveryNotFoundError(NotFoundError):
    """Raised when a recovery does not exist or is not a recovery of the loan named."""


class ReversalError(ConflictError):
    """Raised when a repayment cannot be reversed now; ``code`` names why."""

    default_code = "not_reversible"


class ScheduleVersionNotFoundError(NotFoundError):
    """Raised when a loan has no schedule version of the number asked for."""


class PayoffError(LoanError):
    """Raised when a payoff quote's date, a foreclosure's amount or a prepayment is refused."""


class PayoffAmountChangedError(ConflictError):
    """Raised when a foreclosure's amount is not today's payoff total (the quote is stale)."""

    default_code = "payoff_amount_mismatch"
