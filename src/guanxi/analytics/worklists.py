"""Work lists for staff: the customers of the latest scoring run that need someone to act now,
each with its next best action. "VIP customers at risk" (屈从型 VIPs whose churn risk is at or
above the run's high-risk threshold), "declining key customers to call" (关怀型 key customers in
the decline stage), "dissatisfied VIP and key customers" (a poor satisfaction survey lately, or a
complaint open) and "win-back candidates" (客户的挽回, the one rule in
``churn.winback_candidates`` as the churn figures apply it).

A list holds the customers the user owns ("mine"); someone whose role sees more than their own
records (a manager: their team's; an analyst or admin: everyone's) may switch to "team", every
customer they may see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from guanxi.analytics import churn as churn_rules
from guanxi.analytics import nba
from guanxi.analytics.customer_reads import WINBACK_STAGES
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.analytics.params import AnalysisParameters
from guanxi.analytics.runs import latest_run
from guanxi.analytics.visible_scores import SelectT, visible
from guanxi.auth.models import User
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.errors import N_, NotFound
from guanxi.service_desk.models import OPEN_STATUSES, Survey, Ticket

Scope = Literal["mine", "team"]
SHOWN = 100  # rows on a list page; the count says how many there are in all
WINBACK_MIN_MARGIN = 0.01  # what the churn figures pass to the rule: any past profit
# dissatisfied: a survey answer this poor, this recent (CSAT 1-5, NPS 0-6 is a detractor)
DISSATISFIED_DAYS = 90
POOR_CSAT = 2
POOR_NPS = 6


@dataclass(frozen=True)
class Worklist:
    name: str
    title: str  # English msgid
    description: str  # English msgid


WORKLISTS: dict[str, Worklist] = {
    item.name: item
    for item in (
        Worklist(
            "vip-at-risk",
            N_("VIP customers at risk"),
            N_(
                "VIP customers whose churn risk is at or above the high-risk threshold of the "
                "latest run: call them personally, learn what is wrong and fix it."
            ),
        ),
        Worklist(
            "declining-key",
            N_("Declining key customers to call"),
            N_(
                "Key customers whose relationship is declining: call to find out what changed "
                "and offer help; the relationship is worth recovering."
            ),
        ),
        Worklist(
            "dissatisfied",
            N_("Dissatisfied VIP and key customers"),
            N_(
                "VIP and key customers who rated a service 2 or lower, or would hardly "
                "recommend us (NPS 6 or lower), in the last 90 days, or who have a complaint "
                "open: call them, put it right and log the follow-up."
            ),
        ),
        Worklist(
            "win-back",
            N_("Win-back candidates"),
            N_(
                "Declining or churned customers who brought profit and may still come back, "
                "most promising first (past profit × chance they are still there)."
            ),
        ),
    )
}


@dataclass(frozen=True)
class Row:
    """One customer on a work list, with the figures the list is about."""

    customer_id: int
    name: str
    tier: str
    stage: str
    churn_risk: float | None
    last_purchase: dt.date | None
    clv: Decimal | None
    action: str  # next best action key (``nba.ACTIONS``)

    @property
    def action_title(self) -> str:
        return nba.ACTIONS[self.action][0] if self.action in nba.ACTIONS else ""


@dataclass
class WorklistPage:
    worklist: Worklist
    scope: Scope
    run: AnalysisRun
    high_risk: float
    total: int
    rows: list[Row] = field(default_factory=list)
    customer_filters: dict[str, str] | None = None  # the same customers on the customer list


def may_see_team(actor: User) -> bool:
    """Whether ``actor`` sees more customers than their own (and so may switch to "team")."""
    return actor.role.record_scope != "own"


def resolve_scope(actor: User, wanted: str) -> Scope:
    """ "team" for those who may see it and asked for it, else "mine"."""
    return "team" if wanted == "team" and may_see_team(actor) else "mine"


def high_risk(run: AnalysisRun) -> float:
    """The run's high-risk threshold (``churn_high_risk``, the default when it has none)."""
    value = (run.parameters or {}).get("churn_high_risk")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return AnalysisParameters().churn_high_risk


def _scoped(
    session: Session, actor: User, run: AnalysisRun, scope: Scope, statement: SelectT
) -> SelectT:
    statement = visible(session, actor, statement.where(CustomerScore.run_id == run.id))
    return statement.where(Customer.owner_id == actor.id) if scope == "mine" else statement


def _conditions(name: str, run: AnalysisRun) -> list[Any]:
    if name == "vip-at-risk":
        return [CustomerScore.tier == "vip", CustomerScore.churn_risk >= high_risk(run)]
    if name == "declining-key":
        return [CustomerScore.tier == "key", CustomerScore.lifecycle_stage == "decline"]
    if name == "dissatisfied":
        return [CustomerScore.tier.in_(("vip", "key")), _dissatisfied()]
    # win-back: what the rule needs first (a stage it keeps, some past profit); the rule decides
    return [
        CustomerScore.lifecycle_stage.in_(WINBACK_STAGES),
        CustomerScore.margin >= WINBACK_MIN_MARGIN,
        CustomerScore.p_alive.is_not(None),
    ]


def _dissatisfied() -> Any:
    """A poor survey answer in the last ``DISSATISFIED_DAYS`` days, or a complaint still open."""
    since = utcnow() - dt.timedelta(days=DISSATISFIED_DAYS)
    poor_answer = exists().where(
        Survey.customer_id == CustomerScore.customer_id,
        Survey.answered_at >= since,
        or_(Survey.csat <= POOR_CSAT, Survey.nps <= POOR_NPS),
    )
    open_complaint = exists().where(
        Ticket.customer_id == CustomerScore.customer_id,
        Ticket.kind == "complaint",
        Ticket.status.in_(OPEN_STATUSES),
        Ticket.merged_into_id.is_(None),
    )
    return or_(poor_answer, open_complaint)


def _winback_ids(session: Session, actor: User, run: AnalysisRun, scope: Scope) -> list[int]:
    """The win-back candidates in the rule's order."""
    rows = session.execute(
        _scoped(
            session,
            actor,
            run,
            scope,
            select(
                CustomerScore.customer_id,
                CustomerScore.lifecycle_stage,
                CustomerScore.margin,
                CustomerScore.p_alive,
            ).where(*_conditions("win-back", run)),
        )
    ).all()
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["customer_id", "stage", "margin", "p_alive"])
    frame["margin"] = frame["margin"].astype(float)
    ranked = churn_rules.winback_candidates(
        frame, min_value=WINBACK_MIN_MARGIN, stages=WINBACK_STAGES
    )
    return [int(value) for value in ranked["customer_id"]]


def _count(session: Session, actor: User, run: AnalysisRun, scope: Scope, name: str) -> int:
    if name == "win-back":
        return len(_winback_ids(session, actor, run, scope))
    statement = select(func.count()).select_from(CustomerScore).where(*_conditions(name, run))
    return int(session.scalar(_scoped(session, actor, run, scope, statement)) or 0)


def counts(*, session: Session, actor: User, scope: Scope) -> dict[str, int] | None:
    """How many customers each list holds, or None before the first run has succeeded."""
    run = latest_run(session)
    if run is None:
        return None
    return {name: _count(session, actor, run, scope, name) for name in WORKLISTS}


_COLUMNS = (
    CustomerScore.customer_id,
    Customer.name,
    CustomerScore.tier,
    CustomerScore.lifecycle_stage,
    CustomerScore.churn_risk,
    CustomerScore.last_purchase,
    CustomerScore.clv,
    CustomerScore.next_action,
)


def _rows(result: Any) -> list[Row]:
    return [Row(*values) for values in result]


def worklist(
    *, session: Session, actor: User, name: str, scope: Scope, limit: int = SHOWN
) -> WorklistPage | None:
    """One list's first ``limit`` customers and how many it holds; None before the first run
    has succeeded. Raises NotFound for a list that does not exist."""
    if name not in WORKLISTS:
        raise NotFound(N_("No such work list."))
    run = latest_run(session)
    if run is None:
        return None
    page = WorklistPage(WORKLISTS[name], scope, run, high_risk(run), total=0)
    if name == "win-back":
        ranked = _winback_ids(session, actor, run, scope)
        page.total = len(ranked)
        wanted = ranked[:limit]
        found = {
            row.customer_id: row
            for row in _rows(
                session.execute(
                    select(*_COLUMNS)
                    .join(Customer, Customer.id == CustomerScore.customer_id)
                    .where(CustomerScore.run_id == run.id, CustomerScore.customer_id.in_(wanted))
                )
            )
        }
        page.rows = [found[customer_id] for customer_id in wanted if customer_id in found]
        return page
    page.total = _count(session, actor, run, scope, name)
    order: tuple[Any, ...]
    if name == "vip-at-risk":
        order = (CustomerScore.churn_risk.desc(), CustomerScore.customer_id)
        page.customer_filters = {"tier": "vip", "churn_risk_min": str(page.high_risk)}
    elif name == "dissatisfied":  # the customer list cannot filter on surveys: no link there
        order = (func.coalesce(CustomerScore.clv, 0).desc(), CustomerScore.customer_id)
    else:
        order = (func.coalesce(CustomerScore.clv, 0).desc(), CustomerScore.customer_id)
        page.customer_filters = {"tier": "key", "stage": "decline"}
    if scope == "mine" and page.customer_filters is not None:
        page.customer_filters["owner_id"] = str(actor.id)
    statement = _scoped(
        session, actor, run, scope, select(*_COLUMNS).where(*_conditions(name, run))
    )
    page.rows = _rows(session.execute(statement.order_by(*order).limit(limit)))
    return page
