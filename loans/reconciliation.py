"""Loan checks of ``manage.py reconcile``, registered with the ledger by ``loans.apps``."""

from ledger.reconciliation import Check, Justification

# Each kind of loan entry and the record that explains it (ledger.reconciliation,
# ``entries_justified``). The late fee's entry is found by its reference, built by
# ``ledger.references.late_fee_reference`` ("fee:<installment id>"): one per installment.
# A loan re-allocated by a reversal (loans.reversals): its standing payments' splits and
# its fees moved after they were posted, by the REALLOCATION entries, so their original
# entries no longer match the records leg by leg. For such a loan each entry is claimed
# by its one record with the amount it posted (a payment's wallet leg still its amount);
# the totals are proven by the loan-level checks (interest_income, fees_receivable,
# fee_income, loans_receivable against the standing repayments and installments).
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
            WHERE NOT EXISTS (
                SELECT 1 FROM loans_repayment x
                WHERE x.loan_id = r.loan_id AND x.reallocation_entry_id IS NOT NULL
            )
            UNION ALL
            SELECT r.entry_id, 'loans_repayment:' || r.id, p.account_id, p.amount
            FROM loans_repayment r
            JOIN ledger_posting p ON p.entry_id = r.entry_id
            WHERE EXISTS (
                SELECT 1 FROM loans_repayment x
                WHERE x.loan_id = r.loan_id AND x.reallocation_entry_id IS NOT NULL
            )
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
            WHERE i.fee_charged > 0 AND NOT EXISTS (
                SELECT 1 FROM loans_repayment x
                WHERE x.loan_id = i.loan_id AND x.reallocation_entry_id IS NOT NULL
            )
            UNION ALL
            SELECT e.id, 'loans_installment:' || i.id, p.account_id, p.amount
            FROM loans_installment i
            JOIN ledger_journalentry e ON e.reference = 'fee:' || i.id
            JOIN ledger_posting p ON p.entry_id = e.id
            WHERE EXISTS (
                SELECT 1 FROM loans_repayment x
                WHERE x.loan_id = i.loan_id AND x.reallocation_entry_id IS NOT NULL
            )
        """,
    ),
    Justification(
        kind="REALLOCATION",
        sql="""
            SELECT r.reallocation_entry_id AS entry_id, 'loans_repayment:' || r.id AS record,
                   p.account_id, p.amount
            FROM loans_repayment r
            JOIN ledger_posting p ON p.entry_id = r.reallocation_entry_id
            WHERE r.reallocation_entry_id IS NOT NULL
        """,
    ),
    Justification(
        kind="WRITE_OFF",
        sql="""
            SELECT w.entry_id, 'loans_loanwriteoff:' || w.id AS record, leg.account_id,
                   leg.amount
            FROM loans_loanwriteoff w
            CROSS JOIN LATERAL (VALUES
                ((SELECT id FROM ledger_account WHERE code = 'loans_receivable'), w.principal),
                ((SELECT id FROM ledger_account WHERE code = 'loan_loss'), -w.principal),
                ((SELECT id FROM ledger_account WHERE code = 'fees_receivable'), w.fees),
                ((SELECT id FROM ledger_account WHERE code = 'fee_income'), -w.fees)
            ) AS leg(account_id, amount)
            WHERE w.entry_id IS NOT NULL
        """,
    ),
    Justification(
        kind="RECOVERY",
        sql="""
            SELECT r.entry_id, 'loans_loanrecovery:' || r.id AS record, leg.account_id,
                   leg.amount
            FROM loans_loanrecovery r
            JOIN loans_loan l ON l.id = r.loan_id
            JOIN wallets_wallet w ON w.user_id = l.borrower_id
            CROSS JOIN LATERAL (VALUES
                (w.account_id, -r.amount),
                ((SELECT id FROM ledger_account WHERE code = 'recovery_income'), r.amount)
            ) AS leg(account_id, amount)
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


def _reversal_check(record: str, table: str) -> Check:
    """A ``record`` (repayment, recovery) is REVERSED exactly when its entry is reversed,
    and then by the reversal entry it records."""
    return Check(
        name=f"{record}_reversals",
        description=(
            f"a {record} is REVERSED exactly when its entry is reversed, and then by its "
            "reversal entry"
        ),
        sql=f"""
            SELECT r.id AS {record}_id, r.loan_id, r.status, r.reversal_entry_id,
                   rev.id AS entry_reversed_by
            FROM {table} r
            LEFT JOIN ledger_journalentry rev ON rev.reverses_id = r.entry_id
            WHERE (r.status = 'REVERSED') <> (rev.id IS NOT NULL)
               OR r.reversal_entry_id IS DISTINCT FROM rev.id
            ORDER BY r.id
        """,  # noqa: S608 (fixed table names, no input)
        columns=(f"{record}_id", "loan_id", "status", "reversal_entry_id", "entry_reversed_by"),
    )


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
                       sum(total - principal_paid - interest_paid - interest_waived
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
            "each loan's standing repayments (reversed ones left out), and their "
            "allocations to installments, add up to what its installments record as paid "
            "(principal, interest, fees)"
        ),
        sql="""
            WITH paid AS (
                SELECT loan_id, sum(principal_paid) AS principal, sum(interest_paid) AS interest,
                       sum(fee_paid) AS fee
                FROM loans_installment GROUP BY loan_id
            ), repaid AS (
                SELECT loan_id, sum(principal_part) AS principal, sum(interest_part) AS interest,
                       sum(fee_part) AS fee
                FROM loans_repayment WHERE status = 'SUCCESS' GROUP BY loan_id
            ), allocated AS (
                SELECT i.loan_id, sum(a.principal) AS principal, sum(a.interest) AS interest,
                       sum(a.fee) AS fee
                FROM loans_repaymentallocation a JOIN loans_installment i ON i.id = a.installment_id
                JOIN loans_repayment r ON r.id = a.repayment_id
                WHERE r.status = 'SUCCESS'
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
        name="repayment_allocations",
        description=(
            "each standing repayment's parts equal the sum of its allocations to installments"
        ),
        sql="""
            SELECT r.id AS repayment_id, r.loan_id, r.principal_part, r.interest_part,
                   r.fee_part, coalesce(sum(a.principal), 0) AS allocated_principal,
                   coalesce(sum(a.interest), 0) AS allocated_interest,
                   coalesce(sum(a.fee), 0) AS allocated_fee
            FROM loans_repayment r
            LEFT JOIN loans_repaymentallocation a ON a.repayment_id = r.id
            WHERE r.status = 'SUCCESS'
            GROUP BY r.id
            HAVING (r.principal_part, r.interest_part, r.fee_part)
                   <> (coalesce(sum(a.principal), 0), coalesce(sum(a.interest), 0),
                       coalesce(sum(a.fee), 0))
            ORDER BY r.id
        """,
        columns=(
            "repayment_id",
            "loan_id",
            "principal_part",
            "interest_part",
            "fee_part",
            "allocated_principal",
            "allocated_interest",
            "allocated_fee",
        ),
    ),
    _reversal_check("repayment", "loans_repayment"),
    _reversal_check("recovery", "loans_loanrecovery"),
    Check(
        name="loan_disbursements",
        description=(
            "exactly the disbursed (ACTIVE, CLOSED, WRITTEN_OFF) loans link a disbursement entry, "
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
            WHERE (l.status IN ('ACTIVE', 'CLOSED', 'WRITTEN_OFF')) <> (e.id IS NOT NULL)
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
        description=(
            "the fees-receivable account equals the unpaid late fees of all installments "
            "of loans not written off"
        ),
        sql="""
            WITH ledger AS (
                SELECT -coalesce(sum(p.amount), 0) AS receivable
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'fees_receivable'
            ), loans AS (
                SELECT coalesce(sum(i.fee_charged - i.fee_paid - i.fee_waived), 0) AS unpaid_fees
                FROM loans_installment i JOIN loans_loan l ON l.id = i.loan_id
                WHERE l.status <> 'WRITTEN_OFF'
            )
            SELECT ledger.receivable, loans.unpaid_fees FROM ledger, loans
            WHERE ledger.receivable <> loans.unpaid_fees
        """,
        columns=("receivable", "unpaid_fees"),
    ),
    Check(
        name="fee_income",
        description=(
            "fee income equals the late fees charged less the fees waived and those reversed "
            "by write-offs"
        ),
        sql="""
            WITH ledger AS (
                SELECT coalesce(sum(p.amount), 0) AS income
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'fee_income'
            ), loans AS (
                SELECT coalesce((SELECT sum(fee_charged - fee_waived) FROM loans_installment), 0)
                       - coalesce((SELECT sum(fees) FROM loans_loanwriteoff), 0) AS kept
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
    Check(
        name="loan_write_offs",
        description=(
            "exactly the WRITTEN_OFF loans have a write-off, which records their unpaid "
            "principal, interest due on or before its date and unpaid fees, adds up to "
            "written_off_amount, and whose entry moved exactly that principal and those fees"
        ),
        sql="""
            WITH owed AS (
                SELECT w.id,
                       sum(i.principal - i.principal_paid) AS principal,
                       coalesce(sum(i.interest - i.interest_paid)
                                FILTER (WHERE i.due_date <= w.value_date), 0) AS interest,
                       sum(i.fee_charged - i.fee_paid - i.fee_waived) AS fees
                FROM loans_loanwriteoff w JOIN loans_installment i ON i.loan_id = w.loan_id
                GROUP BY w.id
            ), posted AS (
                SELECT w.id,
                       coalesce(sum(p.amount) FILTER (WHERE a.code = 'loans_receivable'), 0)
                           AS receivable,
                       -coalesce(sum(p.amount) FILTER (WHERE a.code = 'loan_loss'), 0) AS loss,
                       coalesce(sum(p.amount) FILTER (WHERE a.code = 'fees_receivable'), 0)
                           AS fees_receivable,
                       -coalesce(sum(p.amount) FILTER (WHERE a.code = 'fee_income'), 0)
                           AS fee_income,
                       count(p.id) FILTER (WHERE a.code NOT IN ('loans_receivable', 'loan_loss',
                                                               'fees_receivable', 'fee_income'))
                           AS other_legs
                FROM loans_loanwriteoff w
                LEFT JOIN ledger_posting p ON p.entry_id = w.entry_id
                LEFT JOIN ledger_account a ON a.id = p.account_id
                GROUP BY w.id
            )
            SELECT l.id AS loan_id, l.status, l.written_off_amount, w.amount AS write_off_amount,
                   w.principal, o.principal AS principal_owed, w.interest,
                   o.interest AS interest_due, w.fees, o.fees AS fees_owed
            FROM loans_loan l
            LEFT JOIN loans_loanwriteoff w ON w.loan_id = l.id
            LEFT JOIN owed o ON o.id = w.id
            LEFT JOIN posted p ON p.id = w.id
            WHERE (l.status = 'WRITTEN_OFF') <> (w.id IS NOT NULL)
               OR (w.id IS NOT NULL AND (
                       l.written_off_amount <> w.amount
                       OR (w.principal, w.interest, w.fees)
                          <> (o.principal, o.interest, o.fees)
                       OR (p.receivable, p.loss, p.fees_receivable, p.fee_income, p.other_legs)
                          <> (w.principal, w.principal, w.fees, w.fees, 0)))
            ORDER BY l.id
        """,
        columns=(
            "loan_id",
            "status",
            "written_off_amount",
            "write_off_amount",
            "principal",
            "principal_owed",
            "interest",
            "interest_due",
            "fees",
            "fees_owed",
        ),
    ),
    Check(
        name="loan_loss",
        description="the loan-loss account equals the principal written off",
        sql="""
            WITH ledger AS (
                SELECT -coalesce(sum(p.amount), 0) AS loss
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'loan_loss'
            ), loans AS (
                SELECT coalesce(sum(principal), 0) AS written_off FROM loans_loanwriteoff
            )
            SELECT ledger.loss, loans.written_off FROM ledger, loans
            WHERE ledger.loss <> loans.written_off
        """,
        columns=("loss", "written_off"),
    ),
    Check(
        name="recovery_income",
        description=(
            "recovery income equals the standing recoveries (a reversed one's entry and "
            "its reversal cancel out), each posted wallet → recovery income for its amount"
        ),
        sql="""
            WITH ledger AS (
                SELECT coalesce(sum(p.amount), 0) AS income
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'recovery_income'
            ), recoveries AS (
                SELECT coalesce(sum(amount), 0) AS recovered FROM loans_loanrecovery
                WHERE status = 'SUCCESS'
            ), mismatched AS (
                SELECT count(*) AS entries
                FROM loans_loanrecovery r
                WHERE r.amount <> (SELECT coalesce(sum(p.amount), 0)
                                   FROM ledger_posting p JOIN ledger_account a
                                        ON a.id = p.account_id
                                   WHERE p.entry_id = r.entry_id
                                     AND a.code = 'recovery_income')
            )
            SELECT ledger.income, recoveries.recovered, mismatched.entries AS mismatched_entries
            FROM ledger, recoveries, mismatched
            WHERE ledger.income <> recoveries.recovered OR mismatched.entries > 0
        """,
        columns=("income", "recovered", "mismatched_entries"),
    ),
    Check(
        name="loan_recovered",
        description="each loan's recovered_amount is the sum of its standing recoveries",
        sql="""
            WITH recovered AS (
                SELECT loan_id, sum(amount) AS amount FROM loans_loanrecovery
                WHERE status = 'SUCCESS' GROUP BY loan_id
            )
            SELECT l.id AS loan_id, l.recovered_amount, coalesce(r.amount, 0) AS recoveries
            FROM loans_loan l LEFT JOIN recovered r ON r.loan_id = l.id
            WHERE l.recovered_amount <> coalesce(r.amount, 0)
            ORDER BY l.id
        """,
        columns=("loan_id", "recovered_amount", "recoveries"),
    ),
    Check(
        name="installment_allocations",
        description=(
            "each installment's paid principal, interest and fee equal the sums of the "
            "allocations made to it by standing repayments (loans whose repayments record "
            "allocations)"
        ),
        sql="""
            WITH allocated AS (
                SELECT a.installment_id, sum(a.principal) AS principal,
                       sum(a.interest) AS interest, sum(a.fee) AS fee
                FROM loans_repaymentallocation a JOIN loans_repayment r ON r.id = a.repayment_id
                WHERE r.status = 'SUCCESS'
                GROUP BY a.installment_id
            ), allocating AS (
                SELECT DISTINCT r.loan_id
                FROM loans_repaymentallocation a JOIN loans_repayment r ON r.id = a.repayment_id
            )
            SELECT i.loan_id, i.number, i.principal_paid, coalesce(a.principal, 0) AS principal,
                   i.interest_paid, coalesce(a.interest, 0) AS interest,
                   i.fee_paid, coalesce(a.fee, 0) AS fee
            FROM loans_installment i
            JOIN allocating g ON g.loan_id = i.loan_id
            LEFT JOIN allocated a ON a.installment_id = i.id
            WHERE (i.principal_paid, i.interest_paid, i.fee_paid)
                  <> (coalesce(a.principal, 0), coalesce(a.interest, 0), coalesce(a.fee, 0))
            ORDER BY i.loan_id, i.number
        """,
        columns=(
            "loan_id",
            "number",
            "principal_paid",
            "allocated_principal",
            "interest_paid",
            "allocated_interest",
            "fee_paid",
            "allocated_fee",
        ),
    ),
    Check(
        name="interest_waived_by_foreclosure",
        description=(
            "each loan's waived interest is what its foreclosure waived (no other way "
            "waives interest)"
        ),
        sql="""
            WITH installments AS (
                SELECT loan_id, sum(interest_waived) AS waived
                FROM loans_installment GROUP BY loan_id HAVING sum(interest_waived) <> 0
            ), foreclosures AS (
                SELECT loan_id, sum(interest_waived) AS waived
                FROM loans_repayment
                WHERE purpose = 'FORECLOSURE' AND status = 'SUCCESS'
                GROUP BY loan_id HAVING sum(interest_waived) <> 0
            )
            SELECT coalesce(i.loan_id, f.loan_id) AS loan_id,
                   coalesce(i.waived, 0) AS installments_waived,
                   coalesce(f.waived, 0) AS foreclosure_waived
            FROM installments i FULL JOIN foreclosures f ON f.loan_id = i.loan_id
            WHERE coalesce(i.waived, 0) <> coalesce(f.waived, 0)
            ORDER BY 1
        """,
        columns=("loan_id", "installments_waived", "foreclosure_waived"),
    ),
    Check(
        name="interest_income_installments",
        description=(
            "interest income equals the interest paid on all installments: waived "
            "interest never reaches income"
        ),
        sql="""
            WITH ledger AS (
                SELECT coalesce(sum(p.amount), 0) AS income
                FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                WHERE a.code = 'interest_income'
            ), loans AS (
                SELECT coalesce(sum(interest_paid), 0) AS paid FROM loans_installment
            )
            SELECT ledger.income, loans.paid FROM ledger, loans WHERE ledger.income <> loans.paid
        """,
        columns=("income", "paid"),
    ),
    Check(
        name="schedule_versions",
        description=(
            "each disbursed loan has schedule versions numbered from 1, and its installments "
            "and EMI are those of its latest version"
        ),
        sql="""
            WITH latest AS (
                SELECT DISTINCT ON (loan_id) id, loan_id, number, emi_amount, total_interest
                FROM loans_scheduleversion ORDER BY loan_id, number DESC
            ), counted AS (
                SELECT loan_id, count(*) AS versions, min(number) AS first, max(number) AS last
                FROM loans_scheduleversion GROUP BY loan_id
            ), differing AS (
                SELECT coalesce(i.loan_id, l.loan_id) AS loan_id
                FROM (SELECT i.* FROM loans_installment i
                      JOIN latest l ON l.loan_id = i.loan_id) i
                FULL JOIN (SELECT r.*, l.loan_id FROM loans_scheduleversionrow r
                           JOIN latest l ON l.id = r.version_id) l
                  ON l.loan_id = i.loan_id AND l.number = i.number
                WHERE (i.due_date, i.principal, i.interest, i.remaining_principal)
                      IS DISTINCT FROM (l.due_date, l.principal, l.interest, l.remaining_principal)
                GROUP BY 1
            )
            SELECT lo.id AS loan_id, coalesce(c.versions, 0) AS versions, c.first, c.last,
                   (d.loan_id IS NOT NULL) AS rows_differ,
                   lo.emi_amount, v.emi_amount AS version_emi
            FROM loans_loan lo
            LEFT JOIN counted c ON c.loan_id = lo.id
            LEFT JOIN latest v ON v.loan_id = lo.id
            LEFT JOIN differing d ON d.loan_id = lo.id
            WHERE (lo.disbursement_entry_id IS NOT NULL) <> (c.loan_id IS NOT NULL)
               OR (c.loan_id IS NOT NULL AND (c.first <> 1 OR c.last <> c.versions
                   OR d.loan_id IS NOT NULL OR lo.emi_amount <> v.emi_amount
                   OR lo.total_interest <> v.total_interest))
            ORDER BY lo.id
        """,
        columns=(
            "loan_id",
            "versions",
            "first",
            "last",
            "rows_differ",
            "emi_amount",
            "version_emi",
        ),
    ),
]
