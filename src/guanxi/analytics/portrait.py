"""The customer portrait (客户画像): everything the mining centre knows about one customer in one
place, for the customer 360 page.

From the latest succeeded run: the value tier and what to do with it, the lifecycle stage and its
history across the kept runs, RFM, P(alive), expected purchases, expected spend and CLV with the
models' explanation in words, the churn risk and its main drivers, recommended products and
look-alikes (only those the viewer may see), and the next best action with its strategy. A
customer without a score (no run yet, added since the run, or a prospect who never bought) gets
a "not scored yet" state, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.analytics import customer_reads, lifecycle, nba, rfm, tiers
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.analytics.params import AnalysisParameters
from guanxi.analytics.portrait_explain import Driver, churn_drivers, explanation
from guanxi.analytics.portrait_words import Phrase
from guanxi.analytics.runs import latest_run
from guanxi.analytics.visible_scores import report
from guanxi.auth.models import User
from guanxi.auth.visibility import get_visible
from guanxi.customers.models import Customer

HISTORY_RUNS = 60
"""The latest runs the stage history reaches back over (nightly runs keep a row each)."""
LIST_ROWS = 5
"""Recommended products and look-alikes shown."""

State = Literal["scored", "prospect", "not_scored", "no_run"]


@dataclass(frozen=True)
class StagePoint:
    """The customer's stage in one kept run; ``moved`` when it differs from the run before."""

    run_id: int
    observation_end: date
    stage: str
    label: str
    moved: bool


@dataclass(frozen=True)
class StageSpan:
    """Consecutive runs in one stage: from the first run's observation end to the last's."""

    stage: str
    label: str
    start: date
    end: date
    runs: int


@dataclass(frozen=True)
class Action:
    """A next best action (``nba.ACTIONS``): English msgids for its title and strategy."""

    key: str
    title: str
    strategy: str


@dataclass
class Portrait:
    """One customer's portrait; figures are None where the run has none for them."""

    customer_id: int
    state: State
    run_id: int | None = None
    observation_end: date | None = None
    tier: str = ""
    tier_label: str | None = None
    tier_strategy: str | None = None
    stage: str = ""
    stage_label: str | None = None
    stage_focus: str | None = None
    history: list[StagePoint] = field(default_factory=list)
    spans: list[StageSpan] = field(default_factory=list)
    r_score: int | None = None
    f_score: int | None = None
    m_score: int | None = None
    segment: str = ""
    segment_label: str | None = None
    segment_action: str | None = None
    p_alive: float | None = None
    expected_purchases: float | None = None
    expected_spend: Decimal | None = None
    clv: Decimal | None = None
    horizon_days: int = 365
    discount_rate: float = 0.10
    explanation: list[Phrase] = field(default_factory=list)
    churn_risk: float | None = None
    high_risk_threshold: float = 0.6
    drivers: list[Driver] = field(default_factory=list)
    action: Action | None = None
    products: list[dict[str, Any]] = field(default_factory=list)
    similar: list[dict[str, Any]] = field(default_factory=list)

    @property
    def scored(self) -> bool:
        return self.state == "scored"

    @property
    def high_risk(self) -> bool:
        return self.churn_risk is not None and self.churn_risk >= self.high_risk_threshold


def _parameters(run: AnalysisRun) -> AnalysisParameters:
    # a run keeps the parameters it used; one from a version that knew other knobs still shows
    try:
        return AnalysisParameters.from_json(run.parameters)
    except (TypeError, ValueError):
        return AnalysisParameters()


def _history(session: Session, customer_id: int) -> list[StagePoint]:
    rows = session.execute(
        select(AnalysisRun.id, AnalysisRun.observation_end, CustomerScore.lifecycle_stage)
        .join(CustomerScore, CustomerScore.run_id == AnalysisRun.id)
        .where(CustomerScore.customer_id == customer_id, AnalysisRun.status == "succeeded")
        .order_by(AnalysisRun.id.desc())
        .limit(HISTORY_RUNS)
    ).all()
    points: list[StagePoint] = []
    for run_id, end, stage in reversed(rows):
        moved = bool(points) and points[-1].stage != stage
        points.append(StagePoint(run_id, end, stage, lifecycle.STAGES.get(stage, stage), moved))
    return points


def _spans(points: list[StagePoint]) -> list[StageSpan]:
    spans: list[StageSpan] = []
    for point in points:
        if spans and spans[-1].stage == point.stage:
            last = spans[-1]
            spans[-1] = StageSpan(
                last.stage, last.label, last.start, point.observation_end, last.runs + 1
            )
        else:
            spans.append(
                StageSpan(point.stage, point.label, point.observation_end, point.observation_end, 1)
            )
    return spans


def _action(score: CustomerScore, params: AnalysisParameters) -> Action | None:
    """The run's next best action, or (for a row written without one) the table's."""
    key = score.next_action
    if key not in nba.ACTIONS:
        try:
            key = str(
                nba.next_best_action(
                    [score.tier or None],
                    [score.lifecycle_stage or "prospect"],
                    [score.churn_risk if score.churn_risk is not None else float("nan")],
                    high_risk=params.churn_high_risk,
                )[0]
            )
        except ValueError:  # a stage this version does not know
            return None
    title, strategy = nba.ACTIONS[key]
    return Action(key, title, strategy)


def _lists(session: Session, actor: User, portrait: Portrait) -> None:
    found = customer_reads.recommendations(
        session=session, actor=actor, customer_id=portrait.customer_id
    )
    portrait.products = found["products"][:LIST_ROWS]
    portrait.similar = found["similar_customers"][:LIST_ROWS]


def portrait(*, session: Session, actor: User, customer_id: int) -> Portrait:
    """The portrait of a customer ``actor`` may see (NotFound otherwise)."""
    customer = get_visible(session, Customer, customer_id, actor)
    run = latest_run(session)
    if run is None:
        return Portrait(customer.id, "no_run")
    score = session.get(CustomerScore, (run.id, customer.id))
    if score is None:
        return Portrait(customer.id, "not_scored", run.id, run.observation_end)
    params = _parameters(run)
    stage = score.lifecycle_stage or "prospect"
    result = Portrait(
        customer.id,
        "prospect" if stage == "prospect" or score.first_purchase is None else "scored",
        run.id,
        run.observation_end,
        stage=stage,
        stage_label=lifecycle.STAGES.get(stage),
        stage_focus=lifecycle.STAGE_FOCUS.get(stage),
        high_risk_threshold=params.churn_high_risk,
        horizon_days=params.clv.horizon_days,
        discount_rate=params.clv.discount_rate,
        action=_action(score, params),
    )
    result.history = _history(session, customer.id)
    result.spans = _spans(result.history)
    _lists(session, actor, result)
    if not result.scored:
        return result
    result.tier = score.tier
    result.tier_label = tiers.TIERS.get(score.tier)
    result.tier_strategy = tiers.TIER_STRATEGIES.get(score.tier)
    result.r_score, result.f_score, result.m_score = score.r_score, score.f_score, score.m_score
    result.segment = score.rfm_segment
    result.segment_label = rfm.SEGMENTS.get(score.rfm_segment)
    result.segment_action = rfm.SEGMENT_ACTIONS.get(score.rfm_segment)
    result.p_alive = score.p_alive
    result.expected_purchases = score.expected_purchases
    result.expected_spend = score.expected_spend
    result.clv = score.clv
    result.churn_risk = score.churn_risk
    result.explanation = explanation(score, params)
    churn_report = report(session, run, "churn")
    result.drivers = churn_drivers(
        score, churn_report if isinstance(churn_report, dict) else None, params
    )
    return result
