"""The report's charts, drawn with reportlab's own graphics (vector, no browser needed): the
value tiers as bars (share of customers beside share of profit) and the Pareto (Lorenz) curve of
profit against the line of equal shares."""

from __future__ import annotations

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

from guanxi.analytics.reports.content import Report
from guanxi.analytics.reports.words import Words
from guanxi.errors import N_

WIDTH, HEIGHT = 460, 220
BLUE = colors.HexColor("#2563eb")
ORANGE = colors.HexColor("#ea580c")
GREY = colors.HexColor("#9ca3af")

TIER_CHART = N_("Value tiers: share of customers and of profit")
LORENZ_CHART = N_("Pareto curve: share of profit from the most profitable customers")
CUSTOMER_SHARE = N_("Share of customers")
PROFIT_SHARE = N_("Share of profit")
EQUAL_SHARES = N_("Equal shares")


def _title(drawing: Drawing, text: str, font: str) -> None:
    drawing.add(String(0, HEIGHT - 12, text, fontName=font, fontSize=10))


def _legend(drawing: Drawing, pairs: list[tuple[colors.Color, str]], font: str) -> None:
    legend = Legend()
    legend.x, legend.y = WIDTH - 150, HEIGHT - 20
    legend.fontName, legend.fontSize = font, 8
    legend.alignment = "right"
    legend.columnMaximum = len(pairs)
    legend.colorNamePairs = pairs
    drawing.add(legend)


def tier_chart(report: Report, words: Words, font: str) -> Drawing:
    """Bars per value tier: its share of the visible customers and of their profit, in %."""
    drawing = Drawing(WIDTH, HEIGHT)
    _title(drawing, words._(TIER_CHART), font)
    customers = sum(row["customers"] for row in report.tiers)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 30, WIDTH - 60, HEIGHT - 80
    chart.data = [
        [100 * row["customers"] / customers if customers else 0 for row in report.tiers],
        [100 * (row["profit_share"] or 0) for row in report.tiers],
    ]
    chart.categoryAxis.categoryNames = [words._(row["label"]) for row in report.tiers]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    values = [value for series in chart.data for value in series]
    # an unprofitable tier's share of profit is below zero
    chart.valueAxis.valueMin = min([0.0, *values])
    chart.valueAxis.valueMax = max([100.0, *values])
    chart.valueAxis.valueStep = 20
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.bars[0].fillColor = BLUE
    chart.bars[1].fillColor = ORANGE
    chart.barLabelFormat = "%.0f%%"
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    drawing.add(chart)
    _legend(drawing, [(BLUE, words._(CUSTOMER_SHARE)), (ORANGE, words._(PROFIT_SHARE))], font)
    return drawing


def lorenz_chart(report: Report, words: Words, font: str) -> Drawing:
    """The concentration curve: the top x% of customers bring y% of the profit (it may rise
    above 100% when unprofitable customers take some back, Kaplan's "whale curve")."""
    drawing = Drawing(WIDTH, HEIGHT)
    _title(drawing, words._(LORENZ_CHART), font)
    points = [(0.0, 0.0)] + [
        (100 * row["customer_share"], 100 * row["profit_share"])
        for row in report.pareto["curve"]
        if row.get("profit_share") is not None
    ]
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 30, WIDTH - 200, HEIGHT - 60
    plot.data = [points, [(0.0, 0.0), (100.0, 100.0)]]
    plot.lines[0].strokeColor = ORANGE
    plot.lines[0].strokeWidth = 2
    plot.lines[1].strokeColor = GREY
    plot.lines[1].strokeDashArray = [3, 3]
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.valueMax = 100
    plot.xValueAxis.valueStep = 20
    top = max([100.0, *(y for _, y in points)])
    plot.yValueAxis.valueMin = min([0.0, *(y for _, y in points)])
    plot.yValueAxis.valueMax = top
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = font
        axis.labels.fontSize = 7
        axis.labelTextFormat = "%d%%"
    drawing.add(plot)
    _legend(
        drawing,
        [(ORANGE, words._(PROFIT_SHARE)), (GREY, words._(EQUAL_SHARES))],
        font,
    )
    drawing.add(
        String(
            40 + (WIDTH - 200) / 2,
            4,
            words._(CUSTOMER_SHARE),
            fontName=font,
            fontSize=8,
            textAnchor="middle",
        )
    )
    return drawing
