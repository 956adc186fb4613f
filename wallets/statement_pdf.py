"""A wallet's statement laid out as a PDF, from the same data as its JSON."""

from lendingsite.money import format_inr
from lendingsite.pdf import PdfDocument, PdfTable, pdf_render
from wallets.statements import WalletStatement


def _amount(value) -> str:
    return format_inr(value) if value else ""


def wallet_statement_filename(statement: WalletStatement) -> str:
    period = statement.period
    return f"wallet-{statement.user_id}-statement-{period.since}-{period.until}.pdf"


def wallet_statement_pdf(statement: WalletStatement) -> bytes:
    """The statement as PDF bytes: letterhead, holder, lines with balances."""
    period = statement.period
    facts = [
        ("Holder", f"{statement.name} <{statement.email}>"),
        ("Currency", statement.currency),
        ("Period", f"{period.since.isoformat()} to {period.until.isoformat()}"),
        ("Business date", statement.business_date.isoformat()),
        ("Opening balance", format_inr(statement.opening_balance)),
        ("Closing balance", format_inr(statement.closing_balance)),
    ]
    lines = PdfTable(
        heading="Transactions",
        columns=("Date", "Description", "Credit", "Debit", "Balance"),
        rows=[
            (
                line.on.isoformat(),
                line.description[:64],
                _amount(line.credit),
                _amount(line.debit),
                format_inr(line.balance),
            )
            for line in statement.lines
        ],
        widths=(0.1, 0.46, 0.14, 0.14, 0.16),
        right=(2, 3, 4),
        footer=(
            "",
            "Total of the period",
            format_inr(statement.total_credit),
            format_inr(statement.total_debit),
            format_inr(statement.closing_balance),
        ),
    )
    return pdf_render(
        PdfDocument(
            title="Wallet statement",
            facts=facts,
            tables=[lines],
            notes=[
                "Credit is money into the wallet, debit money out of it; the balance is "
                "the wallet's balance after each line."
            ],
        )
    )
