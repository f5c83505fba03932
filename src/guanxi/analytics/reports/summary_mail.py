"""The weekly management summary as an e-mail: a few lines of the latest run's headline figures
and value tiers with their change since the previous run, as plain text and as simple HTML, in
the manager's language, with the full report attached as a PDF."""

from __future__ import annotations

from email.message import EmailMessage
from html import escape

from guanxi import mail
from guanxi.analytics.reports import tables
from guanxi.analytics.reports.content import Change, Report
from guanxi.analytics.reports.tables import Kind
from guanxi.analytics.reports.words import Words
from guanxi.config import Settings
from guanxi.errors import N_

SUBJECT = N_("Weekly customer summary, week {week}")
HEADING = N_("Customer summary for week {week}")
BASED_ON = N_("From scoring run {run} (observation end {end}), over the customers you may see.")
CHANGE_HEADING = N_("Value tiers since the previous run")
ATTACHED = N_("The full report is attached as a PDF and can be opened at {link}")
SENT_BECAUSE = N_(
    "You receive this every Monday as a manager or administrator with an e-mail address."
)


def _change(change: Change, words: Words) -> tuple[str, str, str]:
    kind: Kind = "money" if change.money else "int"
    difference = change.difference
    if difference is None:
        moved = ""
    else:
        sign = "+" if difference > 0 else ""
        moved = sign + words.value(difference, kind)
    return words._(change.label), words.value(change.after, kind), moved


def message(
    settings: Settings,
    *,
    to: str,
    week: str,
    report: Report,
    words: Words,
    pdf: bytes,
    filename: str,
) -> EmailMessage:
    """The summary mail for one reader, with ``pdf`` attached as ``filename``."""
    link = f"{settings.public_url.rstrip('/')}/analytics/reports"
    heading = words._(HEADING, week=week)
    based_on = words._(BASED_ON, run=report.run.id, end=report.run.observation_end.isoformat())
    summary = tables.summary(report)
    figures = [
        (words._(label), words.cell(value, summary.columns[1])) for label, value in summary.rows
    ]
    changes = [_change(change, words) for change in report.changes]
    text_lines = [heading, "", based_on, ""]
    text_lines += [f"- {label}: {value}" for label, value in figures]
    text_lines += ["", words._(CHANGE_HEADING)]
    text_lines += [
        f"- {label}: {value}" + (f" ({moved})" if moved else "") for label, value, moved in changes
    ]
    text_lines += ["", words._(ATTACHED, link=link), "", words._(SENT_BECAUSE)]
    html = _html(heading, based_on, figures, changes, words, link)
    built = mail.build(
        settings,
        to=to,
        subject=words._(SUBJECT, week=week),
        text="\n".join(text_lines) + "\n",
        html=html,
    )
    built.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return built


def _html(
    heading: str,
    based_on: str,
    figures: list[tuple[str, str]],
    changes: list[tuple[str, str, str]],
    words: Words,
    link: str,
) -> str:
    cell = 'style="padding:2px 12px 2px 0"'
    number = 'style="padding:2px 12px 2px 0;text-align:right"'
    rows = "".join(
        f"<tr><td {cell}>{escape(label)}</td><td {number}>{escape(value)}</td></tr>"
        for label, value in figures
    )
    moved = "".join(
        f"<tr><td {cell}>{escape(label)}</td><td {number}>{escape(value)}</td>"
        f"<td {number}>{escape(change)}</td></tr>"
        for label, value, change in changes
    )
    anchor = f'<a href="{escape(link)}">{escape(link)}</a>'
    attached = escape(words._(ATTACHED, link="\0")).replace("\0", anchor)
    return (
        '<!doctype html><html><body style="font-family:sans-serif;font-size:14px">'
        f"<h2>{escape(heading)}</h2><p>{escape(based_on)}</p>"
        f"<table>{rows}</table>"
        f"<h3>{escape(words._(CHANGE_HEADING))}</h3><table>{moved}</table>"
        f"<p>{attached}</p>"
        f'<p style="color:#666;font-size:12px">{escape(words._(SENT_BECAUSE))}</p>'
        "</body></html>"
    )
