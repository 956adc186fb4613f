"""Statements as PDF documents, laid out with ReportLab (why ReportLab: docs/STATEMENTS.md).

A document is the lender's letterhead (``LENDER_NAME``, ``LENDER_ADDRESS``), a title,
a few label/value facts, and tables; every page carries "Page n of N". The apps give
the figures already formatted (``lendingsite.money.format_inr``) from the same
statement data their JSON is serialized from.

Tables of lines are drawn by ``_Rows``, which keeps a statement of 2,000 lines well
under a second (docs/BENCHMARKS.md); ReportLab's ``Table`` lays out the short facts.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

MARGIN = 14 * mm
WIDTH = A4[0] - 2 * MARGIN
FONT, BOLD = "Helvetica", "Helvetica-Bold"
FONT_SIZE = 7.5
ROW_HEIGHT = 10.5  # one line of a table, its rule included
BASELINE = 3.0  # the text's baseline above the row's bottom rule
PADDING = 2.0
RULE_GAP = 1.0
MIN_ROWS_ON_A_PAGE = 3  # fewer: the table starts on the next page

TITLE = ParagraphStyle("title", fontName=BOLD, fontSize=14, leading=18, spaceAfter=4)
HEADING = ParagraphStyle("heading", fontName=BOLD, fontSize=10, leading=13, spaceBefore=8)
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=8, leading=10)

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


_GLYPHS: dict[tuple[str, str], float] = {}


def _width(text: str, font: str) -> float:
    """The width of ``text`` at the tables' size, from each glyph's (no kerning in PDF)."""
    total = 0.0
    for char in text:
        glyph = _GLYPHS.get((font, char))
        if glyph is None:
            glyph = _GLYPHS[font, char] = stringWidth(char, font, FONT_SIZE)
        total += glyph
    return total


class _Rows(Flowable):
    """A table of one-line rows at a fixed height, its header repeated on every page.

    ReportLab's ``Table`` styles and measures every cell and splits a long table in time
    that grows with its length: for statements of thousands of lines that alone broke
    the one-second budget (docs/STATEMENTS.md). A statement's rows are single lines, so
    their heights are known: a page split is arithmetic, and each page is drawn as one
    text object and one path of rules.
    """

    def __init__(self, spec: PdfTable, rows: Sequence[Sequence[str]], footer, widths):
        super().__init__()
        self.spec, self.rows, self.footer, self.widths = spec, rows, footer, widths

    def _count(self) -> int:
        return 1 + len(self.rows) + (self.footer is not None)

    def wrap(self, available_width, available_height):
        self.width = sum(self.widths)
        self.height = ROW_HEIGHT * self._count() + RULE_GAP
        return self.width, self.height

    def split(self, available_width, available_height):
        fit = int((available_height - RULE_GAP) // ROW_HEIGHT) - 1  # less the header
        if fit < MIN_ROWS_ON_A_PAGE:
            return []  # start on the next page
        if fit >= len(self.rows) + (self.footer is not None):
            return [self]
        fit = min(fit, len(self.rows) - 1)  # the footer never stands alone
        return [
            _Rows(self.spec, self.rows[:fit], None, self.widths),
            _Rows(self.spec, self.rows[fit:], self.footer, self.widths),
        ]

    def draw(self):
        canvas = self.canv
        lefts, x = [], 0.0
        for width in self.widths:
            lefts.append(x)
            x += width
        right = set(self.spec.right)
        text = canvas.beginText()
        rules = canvas.beginPath()
        top = self.height
        lines = [(self.spec.columns, BOLD), *((row, FONT) for row in self.rows)]
        if self.footer is not None:
            lines.append((self.footer, BOLD))
        for index, (cells, font) in enumerate(lines):
            baseline = top - (index + 1) * ROW_HEIGHT + BASELINE
            text.setFont(font, FONT_SIZE)
            for column, cell in enumerate(cells):
                if not cell:
                    continue
                if column in right:
                    width = _width(cell, font)
                    x = lefts[column] + self.widths[column] - PADDING - width
                else:
                    x = lefts[column] + PADDING
                text.setTextOrigin(x, baseline)
                text.textOut(cell)
            below = top - (index + 1) * ROW_HEIGHT
            if 0 < index < len(lines) - 1 or (index == len(lines) - 1 and self.footer is None):
                rules.moveTo(0, below)
                rules.lineTo(self.width, below)
        canvas.drawText(text)
        canvas.saveState()
        canvas.setStrokeColor(colors.lightgrey)
        canvas.setLineWidth(0.25)
        canvas.drawPath(rules, stroke=1, fill=0)
        canvas.setStrokeColor(colors.black)
        canvas.setLineWidth(0.6)
        canvas.line(0, top - ROW_HEIGHT, self.width, top - ROW_HEIGHT)
        if self.footer is not None:
            canvas.line(
                0,
                top - (len(lines) - 1) * ROW_HEIGHT,
                self.width,
                top - (len(lines) - 1) * ROW_HEIGHT,
            )
        canvas.restoreState()


def _table(spec: PdfTable) -> list:
    heading = Paragraph(_escape(spec.heading), HEADING)
    if not spec.rows:
        return [KeepTogether([heading, Paragraph(_escape(spec.empty), TEXT)])]
    widths = [WIDTH * share for share in spec.widths]
    rows = _Rows(spec, [list(row) for row in spec.rows], spec.footer, widths)
    return (
        [heading, rows] if len(spec.rows) > MIN_ROWS_ON_A_PAGE else [KeepTogether([heading, rows])]
    )


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
