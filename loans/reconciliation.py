"""Loan checks of ``manage.py reconcile``, registered with the ledger by ``loans.apps``."""

from ledger.reconciliation import Check

LOAN_CHECKS = [
    Check(
        name="loan_outstanding",
        description=(
            "each disbursed loan owes exactly its unpaid installments; "
            "undisbursed loans owe nothing"
        ),
        sql="""
            WITH unpaid AS (
                SELECT loan_id, sum(total - principal_paid - interest_paid) AS unpaid
                FROM loans_installment GROUP BY loan_id
            )
            SELECT l.id AS loan_id, l.status, l.outstanding_amount,
                   CASE WHEN l.status IN ('ACTIVE', 'CLOSED') THEN coalesce(u.unpaid, 0)
                        ELSE 0 END AS expected
            FROM loans_loan l LEFT JOIN unpaid u ON u.loan_id = l.id
            WHERE l.outstanding_amount <> CASE WHEN l.status IN ('ACTIVE', 'CLOSED')
                                              THEN coalesce(u.unpaid, 0) ELSE 0 END
            ORDER BY l.id
        """,
        columns=("loan_id", "status", "outstanding_amount", "expected"),
    ),
    Check(
        name="loan_repayments",
        description="each loan's repayments add up to what its installments record as paid",
        sql="""
            WITH paid AS (
                SELECT loan_id, sum(principal_paid) AS principal, sum(interest_paid) AS interest
                FROM loans_installment GROUP BY loan_id
            ), repaid AS (
                SELECT loan_id, sum(principal_part) AS principal, sum(interest_part) AS interest
                FROM loans_repayment GROUP BY loan_id
            )
            SELECT p.loan_id, p.principal AS installments_principal,
                   coalesce(r.principal, 0) AS repayments_principal,
                   p.interest AS installments_interest,
                   coalesce(r.interest, 0) AS repayments_interest
            FROM paid p LEFT JOIN repaid r ON r.loan_id = p.loan_id
            WHERE p.principal <> coalesce(r.principal, 0) OR p.interest <> coalesce(r.interest, 0)
            ORDER BY p.loan_id
        """,
        columns=(
            "loan_id",
            "installments_principal",
            "repayments_principal",
            "installments_interest",
            "repayments_interest",
        ),
    ),
    Check(
        name="loan_disbursements",
        description=(
            "exactly the ACTIVE and CLOSED loans link a disbursement entry, "
            "which took the loan's principal from loans receivable"
        ),
        sql="""
            WITH disbursed AS (
                SELECT p.entry_id, -sum(p.amount) AS principal
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'loans_receivable'
                GROUP BY p.entry_id
            )
            SELECT l.id AS loan_id, l.status, e.id AS entry_id, e.kind,
                   coalesce(d.principal, 0) AS disbursed
            FROM loans_loan l
            LEFT JOIN ledger_journalentry e ON e.id = l.disbursement_entry_id
            LEFT JOIN disbursed d ON d.entry_id = e.id
            WHERE (l.status IN ('ACTIVE', 'CLOSED')) <> (e.id IS NOT NULL)
               OR (e.id IS NOT NULL AND (e.kind <> 'LOAN_DISBURSEMENT'
                                         OR coalesce(d.principal, 0) <> l.principal_amount))
            ORDER BY l.id
        """,
        columns=("loan_id", "status", "entry_id", "kind", "disbursed"),
    ),
    Check(
        name="loans_receivable",
        description="the loans-receivable account equals the principal still owed on all loans",
        sql="""
            WITH ledger AS (
                SELECT -coalesce(sum(p.amount), 0) AS receivable
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'loans_receivable'
            ), loans AS (
                SELECT coalesce(sum(i.principal - i.principal_paid), 0) AS principal_owed
                FROM loans_installment i JOIN loans_loan l ON l.id = i.loan_id
                WHERE l.status IN ('ACTIVE', 'CLOSED')
            )
            SELECT ledger.receivable, loans.principal_owed FROM ledger, loans
            WHERE ledger.receivable <> loans.principal_owed
        """,
        columns=("receivable", "principal_owed"),
    ),
]
