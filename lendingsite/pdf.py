"""Statements as PDF documents, laid out with ReportLab (why ReportLab: docs/STATEMENTS.md).

A document is the lender's letterhead (``LENDER_NAME``, ``LENDER_ADDRESS``), a title,
a few label/value facts, and tables; every page carries "Page n of N". The apps give
the figures already formatted (``lendingsite.money.format_inr``) from the same
statement data their JSON is serialized from.

Long tables are laid out in slices of about a page each: ReportLab splits one long
table across pages in time that grows with its length squared; slices keep a statement
of 2,000 lines well under a second (docs/BENCHMARKS.md).
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

MARGIN = 14 * mm
WIDTH = A4[0] - 2 * MARGIN
ROWS_PER_SLICE = 50
FONT, BOLD = "Helvetica", "Helvetica-Bold"

TITLE = ParagraphStyle("title", fontName=BOLD, fontSize=14, leading=18, spaceAfter=4)
HEADING = ParagraphStyle("heading", fontName=BOLD, fontSize=10, leading=13, spaceBefore=8)
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=8, leading=10)

GRID = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 7.5),
        ("LEADING", (0, 0), (-1, -1), 9),
        ("FONTNAME", (0, 0), (-1, 0), BOLD),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)
FACTS = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LEADING", (0, 0), (-1, -1), 10),
        ("FONTNAME", (0, 0), (0, -1), BOLD),
        ("FONTNAME", (2, 0), (2, -1), BOLD),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]
)


@dataclass(frozen=True)
class PdfTable:
    """A table: its heading, column titles, rows of text, and which columns are amounts.

    ``widths`` are shares of the page's width; ``right`` the indexes of the columns set
    flush right (amounts).
    """

    heading: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[float]
    right: Sequence[int] = ()
    empty: str = "Nothing in this period."
    footer: Sequence[str] | None = None  # a totals row, set in bold


@dataclass(frozen=True)
class PdfDocument:
    title: str
    facts: Sequence[tuple[str, str]]  # shown two pairs to a row
    tables: Sequence[PdfTable]
    notes: Sequence[str] = field(default_factory=tuple)


class _NumberedCanvas(Canvas):
    """A canvas that writes "Page n of N" on every page once N is known (at save)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for page in self._pages:
            self.__dict__.update(page)
            self.setFont(FONT, 7.5)
            self.setFillColor(colors.grey)
            self.drawString(MARGIN, 8 * mm, f"{settings.LENDER_NAME} · amounts in rupees (INR)")
            self.drawRightString(A4[0] - MARGIN, 8 * mm, f"Page {self._pageNumber} of {total}")
            super().showPage()
        super().save()


def _letterhead() -> list:
    lines = [f"<b>{_escape(settings.LENDER_NAME)}</b>"] + [
        _escape(line) for line in settings.LENDER_ADDRESS
    ]
    return [Paragraph("<br/>".join(lines), TEXT), Spacer(1, 4 * mm)]


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _facts(pairs: Sequence[tuple[str, str]]) -> Table:
    rows = []
    for i in range(0, len(pairs), 2):
        left = pairs[i]
        right = pairs[i + 1] if i + 1 < len(pairs) else ("", "")
        rows.append([left[0], left[1], right[0], right[1]])
    shares = (0.2, 0.3, 0.2, 0.3)
    table = Table(rows, colWidths=[WIDTH * share for share in shares], hAlign="LEFT")
    table.setStyle(FACTS)
    return table


def _table(spec: PdfTable) -> list:
    widths = [WIDTH * share for share in spec.widths]
    style = TableStyle(
        list(GRID.getCommands())
        + [("ALIGN", (column, 0), (column, -1), "RIGHT") for column in spec.right]
    )
    flowables: list = [Paragraph(_escape(spec.heading), HEADING)]
    if not spec.rows:
        flowables.append(Paragraph(_escape(spec.empty), TEXT))
        return flowables
    rows = [list(row) for row in spec.rows]
    for start in range(0, len(rows), ROWS_PER_SLICE):
        part = [list(spec.columns), *rows[start : start + ROWS_PER_SLICE]]
        last = start + ROWS_PER_SLICE >= len(rows)
        commands = []
        if last and spec.footer is not None:
            part.append(list(spec.footer))
            commands = [
                ("FONTNAME", (0, -1), (-1, -1), BOLD),
                ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black),
            ]
        table = Table(part, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(style)
        if commands:
            table.setStyle(TableStyle(commands))
        flowables.append(table)
    if len(flowables) == 2:  # a short table stays with its heading
        return [KeepTogether(flowables)]
    return flowables


def pdf_render(document: PdfDocument) -> bytes:
    """The document as PDF bytes (A4, portrait)."""
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        title=document.title,
        author=settings.LENDER_NAME,
    )
    story = [*_letterhead(), Paragraph(_escape(document.title), TITLE), _facts(document.facts)]
    for spec in document.tables:
        story.extend(_table(spec))
    for note in document.notes:
        story.extend([Spacer(1, 2 * mm), Paragraph(_escape(note), TEXT)])
    template.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
