"""Scores written as a scoring run writes them, for the portrait tests: a run, a customer's
score row (a VIP bought 7 times on 6 days, the first 500 days and the last 45 days before the
run's end) and a churn model report; and phrases rendered in a language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from guanxi.analytics.models import AnalysisReport, AnalysisRun
from guanxi.analytics.portrait_words import Phrase
from guanxi.web import i18n
from tests.analytics.scores_support import stored_run, stored_score

END = dt.date(2026, 11, 1)


def scoring_run(session: Session, end: dt.date = END, **fields: object) -> AnalysisRun:
    return stored_run(session, observation_end=end, diagnostics={}, progress=0, **fields)


# a VIP met 45 days before the end, first 500 days before it, on six purchase days
PORTRAIT_SCORE: dict[str, object] = {
    "first_purchase": dt.date(2025, 6, 19),
    "last_purchase": dt.date(2026, 9, 17),
    "orders": 7,
    "frequency": 5,
    "recency": 455.0,
    "age": 500.0,
    "revenue": Decimal("3000.00"),
    "margin": Decimal("1200.00"),
    "profit": Decimal("1200.00"),
    "tier": "vip",
    "r_score": 4,
    "f_score": 5,
    "m_score": 5,
    "rfm_segment": "champions",
    "trend": 0.1,
    "p_alive": 0.82,
    "expected_purchases": 2.1,
    "expected_spend": Decimal("480.00"),
    "clv": Decimal("3400.00"),
    "next_action": "vip_defer",
}


def write_score(session: Session, run: AnalysisRun, customer_id: int, **fields: object) -> None:
    stored_score(session, run, customer_id, **(PORTRAIT_SCORE | fields))


def render(phrases: list[Phrase], locale: str) -> str:
    i18n.activate(locale, ZoneInfo("UTC"))
    try:
        return " ".join(p.render("CNY") for p in phrases)
    finally:
        i18n.activate("en", ZoneInfo("UTC"))


def churn_report(session: Session, run: AnalysisRun) -> None:
    """A fitted churn model's report: frequency and days since the last purchase are drivers."""
    effects = [
        # importance, what the model does and the group means, as the run stores them
        ("frequency", 0.05, "lowers", 1.0, 4.0),
        ("days_since_last", 0.03, "raises", 200.0, 60.0),
        ("tenure", 0.04, "lowers", 400.0, 300.0),  # model and data disagree: never a driver
        ("revenue", -0.01, "lowers", 100.0, 900.0),  # shuffling it helps: not important
        ("channel_web", 0.02, "raises", 0.6, 0.2),  # not kept per customer
    ]
    rows = {
        "auc": 0.8,
        "effects": [
            {
                "feature": name,
                "importance": importance,
                "direction": direction,
                "churned_mean": churned,
                "retained_mean": retained,
            }
            for name, importance, direction, churned, retained in effects
        ],
    }
    session.add(AnalysisReport(run_id=run.id, name="churn", payload={"rows": rows}))
    session.flush()
