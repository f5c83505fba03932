"""Scoring runs against the store: read the logs through ADBC, score them, write one score row
per customer, and keep the run with its parameters, diagnostics and progress.

A run commits its own progress as it goes (so a page can show it), and writes its results in one
transaction at the end: if anything fails, the run is marked failed with the reason and readers
keep using the previous succeeded run's scores.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from guanxi import bulk, settings_store
from guanxi.analytics import engine as engines
from guanxi.analytics import inputs, sources
from guanxi.analytics.models import (
    AnalysisReport,
    AnalysisRun,
    CustomerRecommendation,
    CustomerScore,
    SimilarCustomer,
)
from guanxi.analytics.params import SETTINGS_KEY, AnalysisParameters
from guanxi.analytics.scoring import ScoringInput, ScoringResult, score
from guanxi.audit import tracking
from guanxi.audit.chain import SYSTEM_ACTOR
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database, utcnow
from guanxi.errors import N_, Conflict

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]
_BATCH = 20_000
ABANDONED_AFTER = dt.timedelta(hours=6)


def parameters(session: Session) -> AnalysisParameters:
    """The parameters the next run will use (stored by an analyst, or the defaults)."""
    return AnalysisParameters.from_json(settings_store.get(session, SETTINGS_KEY))


def latest_run(session: Session) -> AnalysisRun | None:
    """The newest succeeded run: the one every reader uses."""
    return session.scalars(
        select(AnalysisRun)
        .where(AnalysisRun.status == "succeeded")
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    ).first()


def start(
    session: Session,
    *,
    engine: str = "duckdb",
    end: dt.date | None = None,
    actor: User | None = None,
    timezone: str = "Asia/Shanghai",
) -> AnalysisRun:
    """Record a new run (status running) with the current parameters; refuses a second one while
    another is running, because two runs would write the same scores twice."""
    if engine not in engines.ENGINES:
        raise Conflict(N_("Unknown analytics engine: choose duckdb or spark."))
    _fail_abandoned(session)
    running = session.scalar(
        select(func.count()).select_from(AnalysisRun).where(AnalysisRun.status == "running")
    )
    if running:
        raise Conflict(N_("A scoring run is already in progress."))
    run = AnalysisRun(
        engine=engine,
        observation_end=end or dt.datetime.now(ZoneInfo(timezone)).date(),
        parameters=parameters(session).to_json(),
        started_by_id=actor.id if actor is not None and actor.id else None,
    )
    session.add(run)
    session.flush()
    tracking.record(session, "analysis.start", "analysis_run", run.id, {"engine": engine})
    return run


def _fail_abandoned(session: Session) -> None:
    # a worker that died mid-run leaves it "running"; after ABANDONED_AFTER nobody is on it
    cutoff = utcnow() - ABANDONED_AFTER
    for run in session.scalars(
        select(AnalysisRun).where(AnalysisRun.status == "running", AnalysisRun.started_at < cutoff)
    ):
        run.status, run.finished_at = "failed", utcnow()
        run.error = "abandoned: the process running it stopped"


def _all_customer_ids(session: Session) -> np.ndarray:
    ids = session.scalars(select(Customer.id).where(Customer.deleted_at.is_(None)))
    return np.fromiter(ids, dtype=np.int64)


def _until(table: pa.Table, end: dt.date) -> pa.Table:
    """The rows of a log up to and including the company day ``end``: a run as of an earlier
    day sees the store as it was then (its data range, counts and association rules too)."""
    limit = pa.scalar(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()), inputs.TIMESTAMP)
    return table.filter(pc.less(table.column("ts"), limit))


def load_input(db: Database, session: Session, *, end: dt.date, timezone: str) -> ScoringInput:
    """Everything a run reads from the store up to ``end``, as Arrow: orders and their lines,
    logged interactions, service tickets with their surveys and known customers' web events."""
    return ScoringInput(
        end=end,
        customer_ids=_all_customer_ids(session),
        transactions=_until(sources.transactions(db.engine, timezone=timezone), end),
        lines=_until(sources.lines(db.engine, timezone=timezone), end),
        interactions=_until(sources.interactions(db.engine, timezone=timezone), end),
        tickets=_until(sources.tickets(db.engine, timezone=timezone), end),
        events=_until(sources.web_events(db.engine, timezone=timezone), end),
    )


def _report_progress(db: Database, run_id: int, outer: Progress | None) -> Progress:
    def report(step: str, percent: int) -> None:
        with db.unit_of_work() as session:
            run = session.get(AnalysisRun, run_id)
            if run is not None:
                run.step, run.progress = step, percent
        if outer is not None:
            outer(step, percent)

    return report


def execute(
    db: Database, settings: Settings, run_id: int, *, progress: Progress | None = None
) -> AnalysisRun:
    """Carry out a started run. Returns the run, succeeded or failed; never leaves it running."""
    report = _report_progress(db, run_id, progress)
    try:
        with db.unit_of_work() as session:
            run = session.get_one(AnalysisRun, run_id)
            end, engine_name = run.observation_end, run.engine
            params = AnalysisParameters.from_json(run.parameters)
            data = load_input(db, session, end=end, timezone=settings.timezone)
        with engines.opened(engine_name) as engine:
            result = score(data, params, engine, report)
        with db.unit_of_work() as session:
            tracking.set_actor(session, SYSTEM_ACTOR)
            _write(session, run_id, data, result)
    except Exception as exc:  # any failure fails the run, and only the run
        log.warning("scoring run %s failed: %s", run_id, exc, exc_info=not _expected(exc))
        with db.unit_of_work() as session:
            run = session.get_one(AnalysisRun, run_id)
            run.status, run.finished_at = "failed", utcnow()
            run.error = str(exc) or type(exc).__name__
            tracking.record(session, "analysis.fail", "analysis_run", run_id, {"error": run.error})
    with db.sessions() as session:
        return session.get_one(AnalysisRun, run_id)


def _expected(exc: Exception) -> bool:
    return isinstance(exc, ValueError | engines.EngineUnavailable)


# customer_scores column <- scoring frame column
_SCORE_COLUMNS = {
    "customer_id": "customer_id",
    "first_purchase": "first_purchase",
    "last_purchase": "last_purchase",
    "orders": "orders",
    "frequency": "frequency",
    "recency": "recency",
    "age": "T",
    "monetary_value": "monetary_value",
    "revenue": "revenue",
    "margin": "margin",
    "cost_to_serve": "cost_to_serve",
    "profit": "profit",
    "tier": "tier",
    "r_score": "r_score",
    "f_score": "f_score",
    "m_score": "m_score",
    "rfm_segment": "segment",
    "trend": "trend",
    "p_alive": "p_alive",
    "expected_purchases": "expected_purchases",
    "expected_spend": "expected_spend",
    "clv": "clv",
    "lifecycle_stage": "stage",
    "churn_risk": "churn_risk",
    "next_action": "next_action",
}
_MONEY = ("monetary_value", "revenue", "margin", "cost_to_serve", "profit", "expected_spend", "clv")
_ZERO_WHEN_MISSING = ("orders", "frequency", "recency", "age", *_MONEY[:5])
_BLANK_WHEN_MISSING = {
    "tier": "",
    "rfm_segment": "",
    "next_action": "",
    "lifecycle_stage": "prospect",
}


def _score_table(run_id: int, scores: pd.DataFrame) -> pa.Table:
    """The ``customer_scores`` rows of a run as one Arrow table, built column by column (a
    million customers would be slow and large as Python objects). Money is rounded to cents;
    a prospect's missing figures are zero or blank, its model scores null (unknown, not 0)."""
    frame = pd.DataFrame({target: scores.get(source) for target, source in _SCORE_COLUMNS.items()})
    for name in _MONEY:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").round(2)
    for name in _ZERO_WHEN_MISSING:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").fillna(0)
    for name, blank in _BLANK_WHEN_MISSING.items():
        frame[name] = frame[name].fillna(blank).astype(str)
    for name in ("orders", "frequency"):
        frame[name] = frame[name].astype("int64")
    for name in ("r_score", "f_score", "m_score"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
    first = pd.to_datetime(frame["first_purchase"])
    frame["first_purchase"] = first.dt.date
    frame["last_purchase"] = pd.to_datetime(frame["last_purchase"]).dt.date
    frame["cohort_month"] = first.dt.to_period("M").dt.start_time.dt.date
    frame.insert(0, "run_id", run_id)
    return pa.Table.from_pandas(frame, preserve_index=False)


def _score_batches(table: pa.Table) -> Iterator[list[dict[str, Any]]]:
    for batch in table.to_batches(max_chunksize=_BATCH):
        rows = batch.to_pylist()
        for row in rows:
            for name in _MONEY:
                value = row[name]
                # cents as Decimal, the type of the NUMERIC column
                row[name] = None if value is None else Decimal(f"{value:.2f}")
        yield rows


def _arrow_batches(
    run_id: int, table: pa.Table, columns: dict[str, str], known: pa.Array, *keys: str
) -> Iterator[list[dict[str, Any]]]:
    """Rows of ``table`` whose ``keys`` columns are all known customers, renamed to ``columns``,
    as dictionaries in batches. Filtering and building the rows in Arrow keeps Python out of the
    per-value work: ten million recommendation rows otherwise cost minutes before the store."""
    keep = pa.array(np.ones(table.num_rows, dtype=bool))
    for key in keys:
        keep = pc.and_(keep, pc.is_in(table.column(key), value_set=known))
    table = table.filter(keep)
    table = pa.table({target: table.column(source) for target, source in columns.items()})
    table = table.append_column("run_id", pa.repeat(pa.scalar(run_id, pa.int64()), table.num_rows))
    for batch in table.to_batches(max_chunksize=_BATCH):
        yield batch.to_pylist()


def _write(session: Session, run_id: int, data: ScoringInput, result: ScoringResult) -> None:
    """Scores, recommendations, look-alikes and reports of the run, then the run succeeds.
    Recommendations and look-alikes of older runs are dropped: only the latest are served."""
    connection = session.connection()
    known = set(data.customer_ids.tolist())
    scores = result.scores[result.scores["customer_id"].isin(known)]
    for batch in _score_batches(_score_table(run_id, scores)):
        bulk.insert_many(connection, CustomerScore.__table__, batch)  # type: ignore[arg-type]
    session.execute(delete(CustomerRecommendation).where(CustomerRecommendation.run_id != run_id))
    session.execute(delete(SimilarCustomer).where(SimilarCustomer.run_id != run_id))
    known_ids = pa.array(data.customer_ids, pa.int64())
    recommendations = _arrow_batches(
        run_id,
        result.recommendations,
        {
            "customer_id": "customer_id",
            "rank": "rank",
            "product_id": "product_id",
            "score": "score",
        },
        known_ids,
        "customer_id",
    )
    for batch in recommendations:
        bulk.insert_many(connection, CustomerRecommendation.__table__, batch)  # type: ignore[arg-type]
    similar = _arrow_batches(
        run_id,
        result.similar,
        {
            "customer_id": "customer_id",
            "other_customer_id": "other_customer_id",
            "similarity": "similarity",
        },
        known_ids,
        "customer_id",
        "other_customer_id",
    )
    for batch in similar:
        bulk.insert_many(connection, SimilarCustomer.__table__, batch)  # type: ignore[arg-type]
    for name, payload in result.reports.items():
        session.add(AnalysisReport(run_id=run_id, name=name, payload={"rows": payload}))
    run = session.get_one(AnalysisRun, run_id)
    transactions = data.transactions
    if transactions.num_rows:
        days = transactions.column("ts")
        run.data_from = pc.min(days).as_py().date()
        run.data_to = pc.max(days).as_py().date()
    run.transactions = transactions.num_rows
    run.customers_scored = len(scores)
    run.diagnostics = result.diagnostics
    run.status, run.step, run.progress, run.finished_at = "succeeded", "done", 100, utcnow()
    tracking.record(
        session,
        "analysis.finish",
        "analysis_run",
        run_id,
        {"customers_scored": run.customers_scored, "transactions": run.transactions},
    )


def analyze(
    db: Database,
    settings: Settings,
    *,
    engine: str = "duckdb",
    end: dt.date | None = None,
    actor: User | None = None,
    progress: Progress | None = None,
) -> AnalysisRun:
    """Start and carry out a run in one go (the CLI and the nightly job)."""
    with db.unit_of_work() as session:
        run = start(session, engine=engine, end=end, actor=actor, timezone=settings.timezone)
        run_id = run.id
    return execute(db, settings, run_id, progress=progress)
