"""A loan's statement laid out as a PDF, from the same data as its JSON."""

from lendingsite.money import format_inr
from lendingsite.pdf import PdfDocument, PdfTable, pdf_render
from loans.statements import LoanStatement

LINE_COLUMNS = (
    "Date",
    "Description",
    "Debit",
    "Credit",
    "Fees",
    "Interest",
    "Principal",
    "Balance",
)
SCHEDULE_COLUMNS = (
    "No.",
    "Due date",
    "Principal",
    "Interest",
    "Total",
    "Late fee",
    "Paid",
    "Fee paid",
    "Waived",
    "Unpaid",
    "Status",
)


def _amount(value) -> str:
    return format_inr(value) if value else ""


def loan_statement_filename(statement: LoanStatement) -> str:
    period = statement.period
    return f"loan-{statement.loan_id}-statement-{period.since}-{period.until}.pdf"


def loan_statement_pdf(statement: LoanStatement) -> bytes:
    """The statement as PDF bytes: letterhead, terms, lines with balances, schedule."""
    period = statement.period
    facts = [
        ("Borrower", f"{statement.borrower_name} <{statement.borrower_email}>"),
        ("Loan", f"#{statement.loan_id} ({statement.status})"),
        ("Product", f"{statement.product_code}: {statement.product_name}"),
        ("Disbursed on", statement.disbursed_on.isoformat()),
        ("Principal", format_inr(statement.principal_amount)),
        ("Interest rate", f"{statement.interest_rate} % a year ({statement.interest_method})"),
        ("Tenure", f"{statement.tenure_months} months"),
        ("EMI", format_inr(statement.emi_amount)),
        ("Period", f"{period.since.isoformat()} to {period.until.isoformat()}"),
        ("Business date", statement.business_date.isoformat()),
        ("Opening balance", format_inr(statement.opening_balance)),
        ("Closing balance", format_inr(statement.closing_balance)),
        ("Days past due", str(statement.days_past_due)),
        ("Delinquency", statement.delinquency_bucket),
    ]
    if statement.written_off_amount:
        facts += [
            ("Written off", format_inr(statement.written_off_amount)),
            ("Recovered", format_inr(statement.recovered_amount)),
        ]
    if statement.payoff is not None:
        payoff = statement.payoff
        facts.append(
            (
                f"Payoff on {payoff.as_of.isoformat()}",
                f"{format_inr(payoff.total)} (principal {format_inr(payoff.principal)}, "
                f"interest {format_inr(payoff.interest)}, fees {format_inr(payoff.fees)}, "
                f"less credit {format_inr(payoff.credit)})",
            )
        )
    lines = PdfTable(
        heading="Account activity",
        columns=LINE_COLUMNS,
        rows=[
            (
                line.on.isoformat(),
                line.description,
                _amount(line.debit),
                _amount(line.credit),
                _amount(line.fees),
                _amount(line.interest),
                _amount(line.principal),
                format_inr(line.balance),
            )
            for line in statement.lines
        ],
        widths=(0.1, 0.27, 0.095, 0.095, 0.08, 0.09, 0.1, 0.17),
        right=(2, 3, 4, 5, 6, 7),
        footer=(
            "",
            "Total of the period",
            format_inr(statement.totals.debit),
            format_inr(statement.totals.credit),
            "",
            "",
            "",
            format_inr(statement.closing_balance),
        ),
    )
    schedule = PdfTable(
        heading="Repayment schedule (status on the business date)",
        columns=SCHEDULE_COLUMNS,
        rows=[
            (
                str(row.number),
                row.due_date.isoformat(),
                format_inr(row.principal),
                format_inr(row.interest),
                format_inr(row.total),
                _amount(row.fee_charged),
                format_inr(row.paid),
                _amount(row.fee_paid),
                _amount(row.fee_waived),
                format_inr(row.unpaid),
                row.status,
            )
            for row in statement.schedule
        ],
        widths=(0.045, 0.1, 0.1, 0.09, 0.1, 0.08, 0.1, 0.08, 0.08, 0.1, 0.085),
        right=(0, 2, 3, 4, 5, 6, 7, 8, 9),
    )
    return pdf_render(
        PdfDocument(
            title=f"Loan statement: loan #{statement.loan_id}",
            facts=facts,
            tables=[lines, schedule],
            notes=[
                "Debit adds to what the loan owes and credit takes off it; the balance is "
                "what the loan owed after each line: unpaid principal, unpaid scheduled "
                "interest and unpaid late fees. A written-off loan owes 0 on this "
                "statement; what is paid on it afterwards is shown as recovered.",
            ],
        )
    )
