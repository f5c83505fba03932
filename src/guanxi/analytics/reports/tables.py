"""The report laid out as sections of typed tables, once for every format: the workbook gives
each section a sheet, the PDF prints them one after another, the e-mail picks the summary.

Headers and label cells are English msgids, translated by whoever renders them; a column's kind
says how its values are written (money with two decimals, shares as percentages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from guanxi.analytics import lifecycle as lifecycle_rules
from guanxi.analytics import rfm as rfm_rules
from guanxi.analytics import tiers as tier_rules
from guanxi.analytics.reports.content import COHORT_MONTHS, TOP_SHARE, Report
from guanxi.errors import N_

Kind = Literal["text", "label", "int", "money", "share", "number"]
"""text is written as it is (a customer's name), label is a msgid to translate."""

TITLE = N_("Customer analysis report")
MONTH = N_("Month {n}")
NO_PREVIOUS_RUN = N_("There is no earlier run to compare with.")
MODEL_SKIPPED = N_("The churn-cause model was not fitted in this run: {reason}")


@dataclass(frozen=True)
class Column:
    header: str  # English msgid, formatted with ``values`` once translated
    kind: Kind
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cell:
    """A value whose kind differs from its column's (the value column of a list of figures),
    or a label msgid with values to format into it once translated."""

    value: Any
    kind: Kind
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Table:
    title: str  # English msgid, or "" for a section's only table
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""  # English msgid shown when there are no rows
    note_values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    key: str
    title: str  # English msgid
    tables: list[Table]


FIGURES = [Column(N_("Figure"), "label"), Column(N_("This run"), "text")]
"""A list of figures: each value cell is a ``Cell`` that says how it is written."""


def _tier(key: str) -> str:
    return tier_rules.TIERS.get(key, key)


def _stage(key: str) -> str:
    return lifecycle_rules.STAGES.get(key, key)


def summary(report: Report) -> Table:
    """The headline figures: figure, value (the value's kind varies, so it is in the row)."""
    head = report.headline
    rows: list[list[Any]] = [
        [N_("Customers scored"), Cell(head.customers, "int")],
        [N_("Customer equity"), Cell(head.customer_equity, "money")],
        [N_("Mean CLV"), Cell(head.mean_clv, "money")],
        [N_("Gini of profit"), Cell(head.gini, "number")],
        [N_("Profit from the top 20% of customers"), Cell(head.top_share, "share")],
        [N_("High-risk customers"), Cell(head.high_risk, "int")],
        [N_("High churn risk from"), Cell(head.high_risk_threshold, "share")],
    ]
    return Table("", FIGURES, rows)


def run_facts(report: Report) -> Table:
    run = report.run
    rows: list[list[Any]] = [
        [N_("Scoring run"), Cell(run.id, "int")],
        [N_("Observation end"), Cell(run.observation_end.isoformat(), "text")],
        [N_("Data from"), Cell(run.data_from.isoformat() if run.data_from else "", "text")],
        [N_("Data to"), Cell(run.data_to.isoformat() if run.data_to else "", "text")],
        [N_("Previous run"), Cell(run.previous_id, "int")],
    ]
    for label, value, translate in report.filters:
        rows.append([label, Cell(value, "label" if translate else "text")])
    return Table(N_("Scoring run"), FIGURES, rows)


def changes(report: Report) -> Table:
    table = Table(
        N_("Changes since the previous run"),
        [
            Column(N_("Figure"), "label"),
            Column(N_("Previous run"), "number"),
            Column(N_("This run"), "number"),
            Column(N_("Difference"), "number"),
        ],
    )
    if report.run.previous_id is None:
        table.note = NO_PREVIOUS_RUN
        return table
    for change in report.changes:
        kind: Kind = "money" if change.money else "int"
        table.rows.append(
            [
                change.label,
                Cell(change.before, kind),
                Cell(change.after, kind),
                Cell(change.difference, kind),
            ]
        )
    return table


def sections(report: Report) -> list[Section]:
    """Every section of the report, in reading order."""
    pareto = report.pareto
    model = report.churn_model
    month_columns = [Column(MONTH, "share", {"n": n}) for n in range(COHORT_MONTHS)]
    causes = Table(
        N_("Churn causes"),
        [Column(N_("Cause"), "label"), Column(N_("Importance (AUC drop)"), "number")],
        [
            [Cell(cause["explanation"], "label", cause.get("params") or {}), cause["effect"]]
            for cause in model["causes"]
        ],
    )
    if model.get("skipped"):
        causes.note, causes.note_values = MODEL_SKIPPED, {"reason": model["skipped"]}
    return [
        Section("summary", N_("Summary"), [summary(report), run_facts(report), changes(report)]),
        Section(
            "tiers",
            N_("Value tiers"),
            [
                Table(
                    "",
                    [
                        Column(N_("Tier"), "label"),
                        Column(N_("Customers"), "int"),
                        Column(N_("Revenue"), "money"),
                        Column(N_("Profit"), "money"),
                        Column(N_("Share of profit"), "share"),
                        Column(N_("CLV"), "money"),
                    ],
                    [
                        [
                            _tier(row["tier"]),
                            row["customers"],
                            row["revenue"],
                            row["profit"],
                            row["profit_share"],
                            row["clv"],
                        ]
                        for row in report.tiers
                    ],
                )
            ],
        ),
        Section(
            "pareto",
            N_("Pareto (80/20)"),
            [
                Table(
                    "",
                    FIGURES,
                    [
                        [N_("Customers with purchases"), Cell(pareto["customers"], "int")],
                        [N_("Top share of customers"), Cell(TOP_SHARE, "share")],
                        [N_("Their share of profit"), Cell(pareto["top_share"], "share")],
                        [N_("Gini of profit"), Cell(pareto["gini"], "number")],
                    ],
                ),
                Table(
                    N_("Top customers"),
                    [
                        Column(N_("Rank"), "int"),
                        Column(N_("Customer"), "text"),
                        Column(N_("Profit"), "money"),
                        Column(N_("Share of profit"), "share"),
                        Column(N_("Cumulative share"), "share"),
                    ],
                    [
                        [
                            row["rank"],
                            row["name"],
                            row["profit"],
                            row["profit_share"],
                            row["cumulative_share"],
                        ]
                        for row in pareto["top_customers"]
                    ],
                ),
            ],
        ),
        Section(
            "lifecycle",
            N_("Lifecycle"),
            [
                Table(
                    "",
                    [Column(N_("Stage"), "label"), Column(N_("Customers"), "int")],
                    [[row["label"], row["customers"]] for row in report.stages],
                ),
                Table(
                    N_("Movements since the previous run"),
                    [
                        Column(N_("From stage"), "label"),
                        Column(N_("To stage"), "label"),
                        Column(N_("Customers"), "int"),
                    ],
                    [
                        [_stage(row["from_stage"]), _stage(row["to_stage"]), row["customers"]]
                        for row in report.movements
                    ],
                    note=NO_PREVIOUS_RUN
                    if report.run.previous_id is None
                    else N_("No customer moved between stages."),
                ),
            ],
        ),
        Section(
            "rfm",
            N_("RFM segments"),
            [
                Table(
                    "",
                    [
                        Column(N_("Segment"), "label"),
                        Column(N_("Customers"), "int"),
                        Column(N_("Revenue"), "money"),
                    ],
                    [
                        [
                            rfm_rules.SEGMENTS.get(row["segment"], row["segment"]),
                            row["customers"],
                            row["revenue"],
                        ]
                        for row in report.rfm
                    ],
                )
            ],
        ),
        Section(
            "churn",
            N_("Churn"),
            [
                Table(
                    "",
                    [
                        Column(N_("Tier"), "label"),
                        Column(N_("Customers"), "int"),
                        Column(N_("Mean churn risk"), "share"),
                        Column(N_("High risk"), "int"),
                    ],
                    [
                        [row["label"], row["customers"], row["mean_risk"], row["high_risk"]]
                        for row in report.churn_by_tier
                    ],
                ),
                Table(
                    N_("Churn-cause model"),
                    FIGURES,
                    [
                        [N_("Holdout AUC"), Cell(model["auc"], "number")],
                        [
                            N_("Churn rate in the last window"),
                            Cell(model.get("churn_rate"), "share"),
                        ],
                    ],
                ),
                causes,
            ],
        ),
        Section(
            "winback",
            N_("Win-back candidates"),
            [
                Table(
                    "",
                    [
                        Column(N_("Customer"), "text"),
                        Column(N_("Tier"), "label"),
                        Column(N_("Stage"), "label"),
                        Column(N_("Past margin"), "money"),
                        Column(N_("P(alive)"), "share"),
                        Column(N_("Churn risk"), "share"),
                    ],
                    [
                        [
                            row["name"],
                            _tier(row["tier"]),
                            _stage(row["stage"]),
                            row["margin"],
                            row["p_alive"],
                            row["churn_risk"],
                        ]
                        for row in report.winback
                    ],
                    note=N_("No declining or lost customer is worth winning back."),
                )
            ],
        ),
        Section(
            "cohorts",
            N_("Cohort retention"),
            [
                Table(
                    N_("Share of each acquisition month's customers buying again, by months since"),
                    [Column(N_("Cohort"), "text"), Column(N_("Customers"), "int"), *month_columns],
                    [[row.cohort_month, row.cohort_size, *row.retention] for row in report.cohorts],
                    note=N_("No cohort yet."),
                )
            ],
        ),
    ]
