"""Journal entry references: one builder per kind of entry.

A reference is an entry's business key, unique in the database: the second line of
defence, after the idempotency records, against posting the same money twice. Every
reference is built here, so the formats are listed in one place.
"""


def deposit_reference(*, user_id: int, idempotency_key: str) -> str:
    return f"deposit:{user_id}:{idempotency_key}"


def withdrawal_reference(*, user_id: int, idempotency_key: str) -> str:
    return f"withdraw:{user_id}:{idempotency_key}"


def disbursement_reference(*, loan_id: int) -> str:
    return f"disburse:{loan_id}"


def repayment_reference(*, loan_id: int, idempotency_key: str) -> str:
    return f"repayment:{loan_id}:{idempotency_key}"


def reversal_reference(*, entry_id: int) -> str:
    return f"reversal:{entry_id}"


def late_fee_reference(*, installment_id: int) -> str:
    """At most one late fee per installment: the reference is the second guard."""
    return f"fee:{installment_id}"


def fee_waiver_reference(*, installment_id: int, number: int) -> str:
    """The ``number``-th waiver on an installment's fee (counted under the loan's lock)."""
    return f"fee-waiver:{installment_id}:{number}"


def write_off_reference(*, loan_id: int) -> str:
    """A loan is written off at most once."""
    return f"write-off:{loan_id}"


def recovery_reference(*, loan_id: int, idempotency_key: str) -> str:
    return f"recovery:{loan_id}:{idempotency_key}"
