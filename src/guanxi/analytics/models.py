"""What a scoring run leaves behind: the run itself (time, data range, parameters, diagnostics,
progress), one score row per customer per run, and the latest recommendations and look-alikes.

Score rows are written in bulk by the run and never edited, so they carry no version or audit
trail of their own; the run is audited as one event (``analysis_run``), and customers' data is
only read.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.db import Base, BigId, utcnow

Money = Numeric(18, 2)


class AnalysisRun(Base):
    """One run of ``guanxi analyze`` (nightly, on demand or from the CLI).

    ``status`` goes running -> succeeded | failed. Readers use the latest succeeded run, so a
    failed run leaves the previous scores in place.
    """

    __tablename__ = "analysis_runs"
    __table_args__ = (Index("ix_analysis_runs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="running")
    engine: Mapped[str] = mapped_column(String(12), default="duckdb")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    observation_end: Mapped[date] = mapped_column(Date)
    data_from: Mapped[date | None] = mapped_column(Date)
    data_to: Mapped[date | None] = mapped_column(Date)
    transactions: Mapped[int] = mapped_column(BigId, default=0)
    customers_scored: Mapped[int] = mapped_column(Integer, default=0)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    diagnostics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the step now running and its share of the whole (0-100), for progress in the page
    step: Mapped[str] = mapped_column(String(40), default="")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    started_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )


class AnalysisReport(Base):
    """A whole-population report of a run (cohort matrices, association rules, the churn model,
    holdout diagnostics), kept as JSON for the dashboards of people who see every customer."""

    __tablename__ = "analysis_reports"

    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("analysis_runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CustomerScore(Base):
    """A customer's scores from one run (the ``customer_scores`` table)."""

    __tablename__ = "customer_scores"
    __table_args__ = (Index("ix_customer_scores_customer_run", "customer_id", "run_id"),)

    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("analysis_runs.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    first_purchase: Mapped[date | None] = mapped_column(Date)
    last_purchase: Mapped[date | None] = mapped_column(Date)
    cohort_month: Mapped[date | None] = mapped_column(Date)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    frequency: Mapped[int] = mapped_column(Integer, default=0)
    recency: Mapped[float] = mapped_column(Float, default=0.0)
    age: Mapped[float] = mapped_column(Float, default=0.0)  # T, days from first purchase to end
    monetary_value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    margin: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    cost_to_serve: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    profit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    tier: Mapped[str] = mapped_column(String(16), default="")
    r_score: Mapped[int | None] = mapped_column(Integer)
    f_score: Mapped[int | None] = mapped_column(Integer)
    m_score: Mapped[int | None] = mapped_column(Integer)
    rfm_segment: Mapped[str] = mapped_column(String(24), default="")
    trend: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_purchases: Mapped[float | None] = mapped_column(Float)
    expected_spend: Mapped[Decimal | None] = mapped_column(Money)
    clv: Mapped[Decimal | None] = mapped_column(Money)
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default="")
    churn_risk: Mapped[float | None] = mapped_column(Float)
    next_action: Mapped[str] = mapped_column(String(40), default="")


class CustomerRecommendation(Base):
    """A product recommended to a customer by the latest run (rank 1 is the best)."""

    __tablename__ = "customer_recommendations"
    __table_args__ = (
        Index("ix_customer_recommendations_customer_id", "customer_id"),
        Index("ix_customer_recommendations_product_id", "product_id"),
    )

    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("analysis_runs.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)


class SimilarCustomer(Base):
    """A look-alike of a customer by what both bought, from the latest run."""

    __tablename__ = "similar_customers"
    __table_args__ = (
        Index("ix_similar_customers_customer_id", "customer_id"),
        Index("ix_similar_customers_other_customer_id", "other_customer_id"),
    )

    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("analysis_runs.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    other_customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    similarity: Mapped[float] = mapped_column(Float)


class SummaryMailing(Base):
    """The weekly management summary (分析与报告) mailed to one manager for one week: at most one
    row per (week, user), so a restarted or second worker cannot mail it twice.

    ``emailed_at`` is claimed by a conditional UPDATE before the mail is sent (the reminder
    mailer's rule, ``guanxi.reminder_mail``)."""

    __tablename__ = "summary_mailings"
    __table_args__ = (UniqueConstraint("week", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    week: Mapped[str] = mapped_column(String(10))  # ISO week, 2026-W50
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("analysis_runs.id", ondelete="SET NULL")
    )
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column()
