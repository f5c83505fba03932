"""The analysis report (分析与报告) as plain data: what the latest scoring run says about the
customers the viewer may see, and what changed since the run before it.

Every figure comes from the dashboards' readers (``analytics.service`` and
``analytics.customer_reads``), which apply record visibility, so a sales rep's report is that of
their own customers and a manager's that of their team. Labels stay English msgids here; the
workbook, the PDF and the e-mail translate them into the reader's language.

It takes the dashboards' filters (``dashboard_scope.Scope``: period, channel, team, region, the
customer list's parameters of the same names), so a report can be of one team or region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.analytics import customer_reads, service
from guanxi.analytics import tiers as tier_rules
from guanxi.analytics.dashboard_scope import NO_SCOPE, Scope
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.analytics.runs import latest_run
from guanxi.analytics.visible_scores import as_float, visible
from guanxi.auth.models import Team, User
from guanxi.db import utcnow
from guanxi.errors import N_, NotFound
from guanxi.sales.labels import ORDER_CHANNEL_LABELS

TOP_SHARE = 0.2
TOP_CUSTOMERS = 20
WINBACK_CANDIDATES = 20
LORENZ_POINTS = 20
COHORT_MONTHS = 6  # months since acquisition shown per cohort (0 = the acquisition month)
COHORT_ROWS = 12  # the newest cohorts
NO_REPORT = N_(
    "There is no report yet: no scoring run has finished. Start one on the analytics page or "
    "with `guanxi analyze`."
)


@dataclass(frozen=True)
class RunInfo:
    """The run a report is based on."""

    id: int
    observation_end: date
    finished_at: datetime | None
    data_from: date | None
    data_to: date | None
    previous_id: int | None


@dataclass(frozen=True)
class Headline:
    """The figures a manager reads first."""

    customers: int
    customer_equity: float
    mean_clv: float | None
    gini: float
    top_share: float | None  # share of profit from the top ``TOP_SHARE`` of customers
    high_risk: int
    high_risk_threshold: float


@dataclass(frozen=True)
class Change:
    """One figure in this run and in the previous one (``before`` is None without one)."""

    label: str  # English msgid
    before: float | None
    after: float
    money: bool = False

    @property
    def difference(self) -> float | None:
        return None if self.before is None else self.after - self.before


@dataclass(frozen=True)
class CohortRow:
    cohort_month: str
    cohort_size: int
    retention: list[float | None]  # months 0..COHORT_MONTHS-1; None where not yet observed


@dataclass(frozen=True)
class Report:
    run: RunInfo
    generated_at: datetime
    headline: Headline
    tiers: list[dict[str, Any]]
    pareto: dict[str, Any]
    stages: list[dict[str, Any]]
    movements: list[dict[str, Any]]
    rfm: list[dict[str, Any]]
    churn_by_tier: list[dict[str, Any]]
    churn_model: dict[str, Any]
    winback: list[dict[str, Any]]
    cohorts: list[CohortRow]
    changes: list[Change]
    filters: list[tuple[str, str, bool]]
    """The filters the report is narrowed to, as (label msgid, value, value is a msgid)."""


def build(
    *,
    session: Session,
    actor: User,
    database_engine: Any,
    timezone: str,
    scope: Scope = NO_SCOPE,
) -> Report:
    """The report of the latest succeeded run over the customers ``actor`` may see, narrowed to
    ``scope``. Raises ``NotFound`` when no run has finished yet."""
    run = report_run(session)
    tiers = service.tiers(session=session, actor=actor, scope=scope)["tiers"]
    pareto = service.pareto(
        session=session,
        actor=actor,
        share=TOP_SHARE,
        points=LORENZ_POINTS,
        top=TOP_CUSTOMERS,
        scope=scope,
    )
    lifecycle = service.lifecycle(session=session, actor=actor, scope=scope)
    clv = service.clv(session=session, actor=actor, scope=scope)
    churn = customer_reads.churn(
        session=session, actor=actor, limit=WINBACK_CANDIDATES, scope=scope
    )
    cells = service.cohorts(
        session=session,
        actor=actor,
        database_engine=database_engine,
        timezone=timezone,
        scope=scope,
    )["cells"]
    info = run_info(session, run)
    now = _totals(session, actor, run.id, scope)
    before = _totals(session, actor, info.previous_id, scope) if info.previous_id else None
    by_tier = {row["key"]: row for row in churn["by_tier"]}
    return Report(
        run=info,
        generated_at=utcnow(),
        headline=Headline(
            customers=now.customers,
            customer_equity=clv["customer_equity"],
            mean_clv=clv["mean_clv"],
            gini=pareto["gini"],
            top_share=pareto["top_share"],
            high_risk=sum(row["high_risk"] for row in churn["by_tier"]),
            high_risk_threshold=churn["high_risk_threshold"],
        ),
        tiers=tiers,
        pareto=pareto,
        stages=lifecycle["stages"],
        movements=sorted(lifecycle["movements"], key=lambda row: -row["customers"]),
        rfm=service.rfm(session=session, actor=actor, scope=scope)["segments"],
        churn_by_tier=[
            {"tier": key, "label": label, **_risk(by_tier.get(key))}
            for key, label in tier_rules.TIERS.items()
        ],
        churn_model=_model(churn["model"]),
        winback=churn["winback_candidates"],
        cohorts=cohort_rows(cells),
        changes=_changes(now, before),
        filters=describe(session, scope),
    )


def database_engine(session: Session) -> Any:
    """The engine under ``session``: cohorts of a narrowed view read committed orders through
    it (see ``service.cohorts``)."""
    bind = session.get_bind()
    return getattr(bind, "engine", bind)


FILTER_LABELS = {
    "bought_from": N_("Bought from"),
    "bought_to": N_("Bought to"),
    "channel": N_("Channel"),
    "team_id": N_("Team"),
    "region": N_("Region"),
}


def describe(session: Session, scope: Scope) -> list[tuple[str, str, bool]]:
    """The scope's filters in words: a team by its name, a channel by its label."""
    described = []
    for name, value in scope.values.items():
        shown, translate = value, False
        if name == "team_id" and value.isdigit():
            team = session.get(Team, int(value))
            shown = team.name if team is not None else value
        elif name == "channel" and value in ORDER_CHANNEL_LABELS:
            shown, translate = ORDER_CHANNEL_LABELS[value], True
        described.append((FILTER_LABELS.get(name, name), shown, translate))
    return described


def report_run(session: Session) -> AnalysisRun:
    """The run the report is based on (the latest succeeded one); ``NotFound`` without one."""
    run = latest_run(session)
    if run is None:
        raise NotFound(NO_REPORT)
    return run


def run_info(session: Session, run: AnalysisRun | None = None) -> RunInfo:
    """The run the report is based on and the one it is compared with."""
    run = run or report_run(session)
    previous = session.scalar(
        select(func.max(AnalysisRun.id)).where(
            AnalysisRun.status == "succeeded", AnalysisRun.id < run.id
        )
    )
    return RunInfo(
        run.id, run.observation_end, run.finished_at, run.data_from, run.data_to, previous
    )


def _risk(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"customers": 0, "mean_risk": None, "high_risk": 0}
    return {k: row[k] for k in ("customers", "mean_risk", "high_risk")}


def _model(payload: Any) -> dict[str, Any]:
    """The churn-cause model's AUC and causes, or why it was not fitted."""
    if not isinstance(payload, dict):
        return {"auc": None, "causes": [], "skipped": ""}
    return {
        "auc": payload.get("auc"),
        "churn_rate": payload.get("churn_rate"),
        "causes": list(payload.get("causes") or []),
        "skipped": payload.get("skipped", ""),
    }


def cohort_rows(cells: list[dict[str, Any]]) -> list[CohortRow]:
    """The long-form cohort cells as one row per cohort, newest ``COHORT_ROWS`` cohorts,
    retention for the first ``COHORT_MONTHS`` months."""
    rows: dict[str, CohortRow] = {}
    for cell in cells:
        month = str(cell["cohort_month"])[:7]
        row = rows.setdefault(
            month, CohortRow(month, int(cell["cohort_size"]), [None] * COHORT_MONTHS)
        )
        since = int(cell["months_since"])
        if 0 <= since < COHORT_MONTHS:
            row.retention[since] = float(cell["retention"])
    return [rows[key] for key in sorted(rows)[-COHORT_ROWS:]]


@dataclass(frozen=True)
class _Totals:
    customers: int
    equity: float
    by_tier: dict[str, int]


def _totals(session: Session, actor: User, run_id: int, scope: Scope) -> _Totals:
    rows = session.execute(
        visible(
            session,
            actor,
            select(CustomerScore.tier, func.count(), func.sum(CustomerScore.clv))
            .where(CustomerScore.run_id == run_id)
            .group_by(CustomerScore.tier),
            scope,
        )
    ).all()
    return _Totals(
        customers=sum(int(row[1]) for row in rows),
        equity=round(sum(as_float(row[2]) for row in rows), 2),
        by_tier={row[0]: int(row[1]) for row in rows},
    )


def _changes(now: _Totals, before: _Totals | None) -> list[Change]:
    changes = [
        Change(N_("Customers scored"), before.customers if before else None, now.customers),
        Change(N_("Customer equity"), before.equity if before else None, now.equity, money=True),
    ]
    for key, label in tier_rules.TIERS.items():
        changes.append(
            Change(label, before.by_tier.get(key, 0) if before else None, now.by_tier.get(key, 0))
        )
    return changes
