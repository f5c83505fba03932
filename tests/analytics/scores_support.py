"""Scoring runs and score rows written the way a run writes them, inside the test's rolled-back
transaction, for page tests that need exact figures (``test_runs.py`` runs real scoring)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from guanxi.analytics.models import AnalysisRun, CustomerScore

END = dt.date(2026, 11, 1)
PARAMETERS: dict[str, Any] = {
    "churn_high_risk": 0.6,
    "clv": {"horizon_days": 365, "discount_rate": 0.1},
}


def stored_run(session: Session, *, status: str = "succeeded", **fields: Any) -> AnalysisRun:
    values: dict[str, Any] = {
        "status": status,
        "observation_end": END,
        "parameters": PARAMETERS,
        "diagnostics": {},
        "progress": 100 if status == "succeeded" else 0,
    }
    values.update(fields)
    run = AnalysisRun(**values)
    session.add(run)
    session.flush()
    return run


def stored_score(session: Session, run: AnalysisRun, customer_id: int, **fields: Any) -> None:
    values: dict[str, Any] = {
        "first_purchase": dt.date(2025, 3, 4),
        "last_purchase": dt.date(2026, 6, 1),
        "orders": 3,
        "frequency": 2,
        "revenue": Decimal("300.00"),
        "margin": Decimal("120.00"),
        "profit": Decimal("100.00"),
        "tier": "ordinary",
        "r_score": 3,
        "f_score": 3,
        "m_score": 3,
        "rfm_segment": "need_attention",
        "p_alive": 0.8,
        "expected_purchases": 1.5,
        "clv": Decimal("200.00"),
        "lifecycle_stage": "stability",
        "churn_risk": 0.2,
        "next_action": "maintain",
    }
    values.update(fields)
    session.add(CustomerScore(run_id=run.id, customer_id=customer_id, **values))
    session.flush()
