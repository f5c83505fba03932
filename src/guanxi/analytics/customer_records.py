"""What the mining centre adds to a customer's record: the portrait (客户画像) panel on the 360
page, and the profiling results (tier, lifecycle stage, RFM, P(alive), CLV, churn risk, next best
action) of every kept run in the personal-data export, because a person's right of access covers
the profiles made of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.analytics import portrait
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.auth.models import User
from guanxi.customers import extensions, privacy
from guanxi.customers.models import Customer

_EXPORTED = (
    "tier",
    "rfm_segment",
    "r_score",
    "f_score",
    "m_score",
    "lifecycle_stage",
    "p_alive",
    "expected_purchases",
    "clv",
    "churn_risk",
    "next_action",
)


def _scores_section(session: Session, customer: Customer) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AnalysisRun.observation_end, CustomerScore)
        .join(AnalysisRun, AnalysisRun.id == CustomerScore.run_id)
        .where(CustomerScore.customer_id == customer.id, AnalysisRun.status == "succeeded")
        .order_by(AnalysisRun.id)
    ).all()
    return [
        {
            "observation_end": end.isoformat(),
            **{
                name: str(value) if value is not None and name == "clv" else value
                for name in _EXPORTED
                for value in [getattr(score, name)]
            },
        }
        for end, score in rows
    ]


privacy.register_section("analytics_scores", _scores_section)


def _portrait_panel(session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    return {"portrait": portrait.portrait(session=session, actor=actor, customer_id=customer.id)}


extensions.register_panel(
    extensions.Panel(
        "portrait", "analytics/_portrait.html", "analytics", _portrait_panel, position=5
    )
)
