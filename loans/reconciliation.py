"""Loan checks of ``manage.py reconcile``, registered with the ledger by ``loans.apps``."""

from ledger.reconciliation import Check, Justification

# Each kind of loan entry and the record that explains it (ledger.reconciliation,
# ``entries_justified``). The late fee's entry is found by its reference, built by
# ``ledger.references.late_fee_reference`` ("fee:<installment id>"): one per installment.
LOAN_JUSTIFICATIONS = [
    Justification(
        kind="LOAN_DISBURSEMENT",
        sql="""
            SELECT l.disbursement_entry_id AS entry_id, 'loans_loan:' || l.id AS record,
                   leg.account_id, leg.amount
            FROM loans_loan l JOIN wallets_wallet w ON w.user_id = l.borrower_id
            CROSS JOIN LATERAL (VALUES
                (w.account_id, l.principal_amount),
                ((SELECT id FROM ledger_account WHERE code = 'loans_receivable'),
                 -l.principal_amount)
            ) AS leg(account_id, amount)
            WHERE l.disbursement_entry_id IS NOT NULL
        """,
    ),
    Justification(
        kind="EMI_PAYMENT",
        sql="""
            SELECT r.entry_id, 'loans_repayment:' || r.id AS record, leg.account_id, leg.amount
            FROM loans_repayment r
            JOIN loans_loan l ON l.id = r.loan_id
            JOIN wallets_wallet w ON w.user_id = l.borrower_id
            CROSS JOIN LATERAL (VALUES
                (w.account_id, -r.amount),
                ((SELECT id FROM ledger_account WHERE code = 'loans_receivable'), r.principal_part),
                ((SELECT id FROM ledger_account WHERE code = 'interest_income'), r.interest_part),
                ((SELECT id FROM ledger_account WHERE code = 'fees_receivable'), r.fee_part)
            ) AS leg(account_id, amount)
        """,
    ),
    Justification(
        kind="FEE_CHARGE",
        sql="""
            SELECT e.id AS entry_id, 'loans_installment:' || i.id AS record,
                   leg.account_id, leg.amount
            FROM loans_installment i
            JOIN ledger_journalentry e ON e.reference = 'fee:' || i.id
            CROSS JOIN LATERAL (VALUES
                ((SELECT id FROM ledger_account WHERE code = 'fees_receivable'), -i.fee_charged),
                ((SELECT id FROM ledger_account WHERE code = 'fee_income'), i.fee_charged)
            ) AS leg(account_id, amount)
            WHERE i.fee_charged > 0
        """,
    ),
    Justification(
        kind="FEE_WAIVER",
        sql="""
            SELECT f.entry_id, 'loans_feewaiver:' || f.id AS record, leg.account_id, leg.amount
            FROM loans_feewaiver f
            CROSS JOIN LATERAL (VALUES
                ((SELECT id FROM ledger_account WHERE code = 'fee_income'), -f.amount),
                ((SELECT id FROM ledger_account WHERE code = 'fees_receivable'), f.amount)
            ) AS leg(account_id, amount)
        """,
    ),
]

LOAN_CHECKS = [
    Check(
        name="interest_income",
        description=(
            "interest income equals the interest parts of the repayments (less those "
            "reversed); fee income has its own check, fee_income"
        ),
        sql="""
            WITH ledger AS (
                SELECT coalesce(sum(p.amount), 0) AS income
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'interest_income'
            ), loans AS (
                SELECT coalesce(sum(r.interest_part), 0) AS earned FROM loans_repayment r
                WHERE NOT EXISTS (
                    SELECT 1 FROM ledger_journalentry x WHERE x.reverses_id = r.entry_id
                )
            )
            SELECT ledger.income, loans.earned FROM ledger, loans
            WHERE ledger.income <> loans.earned
        """,
        columns=("income", "earned"),
    ),
    Check(
        name="loan_outstanding",
        description=(
            "each disbursed loan owes exactly its unpaid installments, fees included; "
            "undisbursed loans owe nothing"
        ),
        sql="""
            WITH unpaid AS (
                SELECT loan_id,
                       sum(total - principal_paid - interest_paid
                           + fee_charged - fee_paid - fee_waived) AS unpaid
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
        description=(
            "each loan's repayments, and their allocations to installments, add up to what "
            "its installments record as paid (principal, interest, fees)"
        ),
        sql="""
            WITH paid AS (
                SELECT loan_id, sum(principal_paid) AS principal, sum(interest_paid) AS interest,
                       sum(fee_paid) AS fee
                FROM loans_installment GROUP BY loan_id
            ), repaid AS (
                SELECT loan_id, sum(principal_part) AS principal, sum(interest_part) AS interest,
                       sum(fee_part) AS fee
                FROM loans_repayment GROUP BY loan_id
            ), allocated AS (
                SELECT i.loan_id, sum(a.principal) AS principal, sum(a.interest) AS interest,
                       sum(a.fee) AS fee
                FROM loans_repaymentallocation a JOIN loans_installment i ON i.id = a.installment_id
                GROUP BY i.loan_id
            )
            SELECT p.loan_id, p.principal AS installments_principal,
                   coalesce(r.principal, 0) AS repayments_principal,
                   coalesce(a.principal, 0) AS allocated_principal,
                   p.interest AS installments_interest,
                   coalesce(r.interest, 0) AS repayments_interest,
                   coalesce(a.interest, 0) AS allocated_interest,
                   p.fee AS installments_fee, coalesce(r.fee, 0) AS repayments_fee,
                   coalesce(a.fee, 0) AS allocated_fee
            FROM paid p LEFT JOIN repaid r ON r.loan_id = p.loan_id
            LEFT JOIN allocated a ON a.loan_id = p.loan_id
            WHERE p.principal <> coalesce(r.principal, 0) OR p.interest <> coalesce(r.interest, 0)
               OR p.fee <> coalesce(r.fee, 0)
               OR (r.loan_id IS NOT NULL AND a.loan_id IS NOT NULL
                   AND (r.principal, r.interest, r.fee) <> (a.principal, a.interest, a.fee))
            ORDER BY p.loan_id
        """,
        columns=(
            "loan_id",
            "installments_principal",
            "repayments_principal",
            "allocated_principal",
            "installments_interest",
            "repayments_interest",
            "allocated_interest",
            "installments_fee",
            "repayments_fee",
            "allocated_fee",
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
    Check(
        name="fees_receivable",
        description="the fees-receivable account equals the unpaid late fees of all installments",
        sql="""
            WITH ledger AS (
                SELECT -coalesce(sum(p.amount), 0) AS receivable
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'fees_receivable'
            ), loans AS (
                SELECT coalesce(sum(fee_charged - fee_paid - fee_waived), 0) AS unpaid_fees
                FROM loans_installment
            )
            SELECT ledger.receivable, loans.unpaid_fees FROM ledger, loans
            WHERE ledger.receivable <> loans.unpaid_fees
        """,
        columns=("receivable", "unpaid_fees"),
    ),
    Check(
        name="fee_income",
        description="fee income equals the late fees charged less the fees waived",
        sql="""
            WITH ledger AS (
                SELECT coalesce(sum(p.amount), 0) AS income
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'fee_income'
            ), loans AS (
                SELECT coalesce(sum(fee_charged - fee_waived), 0) AS kept FROM loans_installment
            )
            SELECT ledger.income, loans.kept FROM ledger, loans WHERE ledger.income <> loans.kept
        """,
        columns=("income", "kept"),
    ),
    Check(
        name="loan_delinquency",
        description=(
            "each active loan's days past due and bucket are those of its installments on "
            "the business date"
        ),
        sql="""
            WITH today AS (SELECT date FROM ledger_businessdate WHERE id = 1),
            oldest AS (
                SELECT i.loan_id, min(i.due_date) AS due_date
                FROM loans_installment i, today
                WHERE i.paid_on IS NULL AND i.due_date < today.date
                GROUP BY i.loan_id
            ), expected AS (
                SELECT l.id, l.days_past_due, l.delinquency_bucket,
                       coalesce(today.date - o.due_date, 0) AS days, p.buckets
                FROM loans_loan l
                JOIN loans_loanproduct p ON p.id = l.product_id
                CROSS JOIN today
                LEFT JOIN oldest o ON o.loan_id = l.id
                WHERE l.status = 'ACTIVE'
            )
            SELECT e.id AS loan_id, e.days_past_due, e.delinquency_bucket,
                   e.days AS expected_days,
                   (SELECT b ->> 0 FROM jsonb_array_elements(e.buckets) AS b
                    WHERE (b ->> 1)::int <= e.days
                    ORDER BY (b ->> 1)::int DESC LIMIT 1) AS expected_bucket
            FROM expected e
            WHERE e.days_past_due <> e.days
               OR e.delinquency_bucket IS DISTINCT FROM
                  (SELECT b ->> 0 FROM jsonb_array_elements(e.buckets) AS b
                   WHERE (b ->> 1)::int <= e.days ORDER BY (b ->> 1)::int DESC LIMIT 1)
            ORDER BY e.id
        """,
        columns=(
            "loan_id",
            "days_past_due",
            "delinquency_bucket",
            "expected_days",
            "expected_bucket",
        ),
    ),
    Check(
        name="loans_closed_to_date",
        description="no active loan is behind the business date by more than one day",
        sql="""
            SELECT l.id AS loan_id, l.closed_through, b.date AS business_date
            FROM loans_loan l CROSS JOIN ledger_businessdate b
            WHERE b.id = 1 AND l.status = 'ACTIVE' AND l.closed_through < b.date - 1
            ORDER BY l.id
        """,
        columns=("loan_id", "closed_through", "business_date"),
    ),
]
