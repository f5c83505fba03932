"""The report as a PDF for A4 paper: title, date and run, the headline figures and what changed,
the value-tier and Pareto charts, then every section's tables.

Chinese is set in reportlab's built-in CID font ``STSong-Light`` (the PDF viewer supplies the
glyphs, so nothing is embedded or downloaded). A zh-CN report uses it throughout; an English one
uses Helvetica and switches to it only for text with Chinese characters, such as customers'
names.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
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

from guanxi.analytics.reports import charts
from guanxi.analytics.reports.content import Report
from guanxi.analytics.reports.tables import TITLE, Column, sections
from guanxi.analytics.reports.tables import Table as ReportTable
from guanxi.analytics.reports.words import Words
from guanxi.errors import N_

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
MARGIN = 1.8 * cm
NUMBER_WIDTH = 2.6 * cm
NUMERIC = ("int", "money", "share", "number")
HEADER_FILL = colors.HexColor("#eef2f7")
RULE = colors.HexColor("#c7ced8")

GENERATED = N_("Generated {date} from scoring run {run} (observation end {end}).")
SCOPE = N_("It covers the customers {viewer} may see.")
PAGE = N_("Page {page}")


def _register_font() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _has_cjk(text: str) -> bool:
    return any(ord(char) >= 0x2E80 for char in text)


class _Styles:
    """Paragraph styles in the report's base font, with a CJK twin for Chinese text."""

    def __init__(self, words: Words) -> None:
        self.font = CJK_FONT if words.chinese else LATIN_FONT
        self.words = words

    def style(self, size: float, *, right: bool = False, font: str | None = None) -> ParagraphStyle:
        return ParagraphStyle(
            f"s{size}{right}{font}",
            fontName=font or self.font,
            fontSize=size,
            leading=size * 1.35,
            alignment=TA_RIGHT if right else 0,
            wordWrap="CJK" if (font or self.font) == CJK_FONT else None,
        )

    def para(self, text: str, size: float = 9, *, right: bool = False) -> Paragraph:
        font = CJK_FONT if _has_cjk(text) else self.font
        return Paragraph(escape(text), self.style(size, right=right, font=font))


def pdf_bytes(report: Report, words: Words, *, viewer: str) -> bytes:
    """The whole report as a PDF; ``viewer`` names whose customers it covers."""
    _register_font()
    styles = _Styles(words)
    title = words._(TITLE)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author="Guanxi",
        subject=f"{report.run.id} {report.run.observation_end.isoformat()}",
    )
    width = A4[0] - 2 * MARGIN
    story: list[Flowable] = [
        styles.para(title, 18),
        Spacer(1, 4),
        styles.para(
            words._(
                GENERATED,
                date=report.generated_at.date().isoformat(),
                run=report.run.id,
                end=report.run.observation_end.isoformat(),
            )
            + " "
            + words._(SCOPE, viewer=viewer),
            9,
        ),
        Spacer(1, 10),
    ]
    every = sections(report)
    summary, rest = every[0], every[1:]
    for table in summary.tables:
        story += _table(table, styles, width)
    story += [
        KeepTogether([charts.tier_chart(report, words, styles.font), Spacer(1, 8)]),
        KeepTogether([charts.lorenz_chart(report, words, styles.font), Spacer(1, 8)]),
    ]
    for section in rest:
        story += [Spacer(1, 6), styles.para(words._(section.title), 13), Spacer(1, 4)]
        for table in section.tables:
            story += _table(table, styles, width)

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(styles.font, 7)
        canvas.setFillColor(colors.grey)
        text = f"Guanxi · {title} · {words._(PAGE, page=doc.page)}"
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, text)
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _widths(columns: list[Column], width: float) -> list[float]:
    numeric = sum(1 for column in columns if column.kind in NUMERIC)
    text = len(columns) - numeric
    number_width = min(NUMBER_WIDTH, width / len(columns))
    rest = (width - numeric * number_width) / text if text else 0
    return [number_width if column.kind in NUMERIC else rest for column in columns]


def _table(table: ReportTable, styles: _Styles, width: float) -> list[Flowable]:
    words = styles.words
    out: list[Flowable] = []
    if table.title:
        out += [styles.para(words._(table.title), 10), Spacer(1, 3)]
    if not table.rows:
        if table.note:
            out += [styles.para(words._(table.note, **table.note_values), 8), Spacer(1, 8)]
        return out
    header = [
        styles.para(words.header(column), 8, right=column.kind in NUMERIC)
        for column in table.columns
    ]
    body = [
        [
            styles.para(words.cell(value, column), 8, right=column.kind in NUMERIC)
            for value, column in zip(row, table.columns, strict=True)
        ]
        for row in table.rows
    ]
    grid = Table([header, *body], colWidths=_widths(table.columns, width), repeatRows=1)
    grid.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return [*out, grid, Spacer(1, 8)]
