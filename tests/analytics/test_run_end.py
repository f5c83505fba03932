"""A scoring run as of an earlier day sees the store as it was that day: the same shop scored as
of day E gives the same scores, reports and diagnostics whether or not the orders placed after E
are in the store (the demo scores its company 90 days back and today)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from guanxi import schema
from guanxi.analytics import runs
from guanxi.analytics.models import AnalysisReport, AnalysisRun, CustomerScore
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.sales.models import Order, OrderLine
from tests.analytics.store_support import END, seed_shop
from tests.conftest import TEST_SECRET

EARLIER = END - dt.timedelta(days=200)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def db(fresh_database_url: str) -> Iterator[Database]:
    database = Database(fresh_database_url)
    schema.upgrade(database)
    yield database
    database.dispose()


def _settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db.url, secret_key=TEST_SECRET)


def _scores(db: Database, run_id: int) -> dict[int, tuple[object, ...]]:
    with db.sessions() as session:
        rows = session.scalars(select(CustomerScore).where(CustomerScore.run_id == run_id))
        return {
            row.customer_id: (
                row.tier,
                row.lifecycle_stage,
                row.rfm_segment,
                row.orders,
                row.revenue,
                row.last_purchase,
                None if row.p_alive is None else round(row.p_alive, 9),
                row.clv,
                None if row.churn_risk is None else round(row.churn_risk, 9),
                row.next_action,
            )
            for row in rows
        }


def _reports(db: Database, run_id: int) -> dict[str, object]:
    with db.sessions() as session:
        rows = session.scalars(select(AnalysisReport).where(AnalysisReport.run_id == run_id))
        return {row.name: row.payload for row in rows}


def _run(db: Database, run_id: int) -> AnalysisRun:
    with db.sessions() as session:
        return session.get_one(AnalysisRun, run_id)


def test_a_run_as_of_an_earlier_day_ignores_later_orders(db: Database, tmp_path: Path) -> None:
    shop = seed_shop(db, customers=150)
    settings = _settings(db, tmp_path)
    first_later = dt.datetime.combine(EARLIER + dt.timedelta(days=1), dt.time(), SHANGHAI)
    with db.sessions() as session:
        later = session.scalar(
            select(func.count()).select_from(Order).where(Order.ordered_at >= first_later)
        )
    assert later > 50  # the shop goes on long after the earlier day

    with_later = runs.analyze(db, settings, end=EARLIER)
    assert with_later.status == "succeeded", with_later.error
    assert with_later.data_to is not None and with_later.data_to <= EARLIER
    assert with_later.transactions == shop.orders - later

    with db.unit_of_work() as session:
        gone = select(Order.id).where(Order.ordered_at >= first_later)
        session.execute(delete(OrderLine).where(OrderLine.order_id.in_(gone)))
        session.execute(delete(Order).where(Order.ordered_at >= first_later))
    without_later = runs.analyze(db, settings, end=EARLIER)
    assert without_later.status == "succeeded", without_later.error

    assert _scores(db, with_later.id) == _scores(db, without_later.id)
    assert _reports(db, with_later.id) == _reports(db, without_later.id)
    first, second = _run(db, with_later.id), _run(db, without_later.id)
    assert (first.data_from, first.data_to, first.transactions) == (
        second.data_from,
        second.data_to,
        second.transactions,
    )
    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        assert first.diagnostics["bgnbd"][name] == pytest.approx(second.diagnostics["bgnbd"][name])
    assert first.diagnostics["customer_equity"] == pytest.approx(
        second.diagnostics["customer_equity"]
    )
