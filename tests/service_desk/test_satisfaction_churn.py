"""Service signals in the churn model: the tickets table (with first responses and answered
surveys) read from the store as the analytics input, filtered to the churn window on DuckDB and
Spark alike, and the churn features and model of a scoring run built from them."""

from __future__ import annotations

import datetime as dt
from datetime import UTC

import numpy as np
import pyarrow as pa
import pytest

from guanxi import schema
from guanxi.analytics import churn, inputs, model_steps
from guanxi.analytics import engine as engines
from guanxi.analytics.params import AnalysisParameters
from guanxi.analytics.sources import tickets as ticket_source
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.service_desk.models import Survey, Ticket
from tests.analytics.conftest import (  # noqa: F401 - fixtures
    BothEngines,
    both,
    duckdb_engine,
    spark_engine,
)


def test_the_store_s_tickets_reach_the_analysis(fresh_database_url: str) -> None:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    opened = dt.datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # half past midnight in Shanghai
    try:
        with db.unit_of_work() as session:
            buyer = Customer(name="张伟")
            session.add(buyer)
            session.flush()
            complaint = Ticket(
                kind="complaint",
                subject="送货太慢",
                customer_id=buyer.id,
                created_at=opened,
                first_responded_at=opened + dt.timedelta(hours=3, minutes=30),
            )
            waiting = Ticket(
                kind="inquiry", subject="价格", customer_id=buyer.id, created_at=opened
            )
            session.add_all([complaint, waiting])
            session.flush()
            duplicate = Ticket(
                kind="complaint", subject="重复", customer_id=buyer.id, merged_into_id=complaint.id
            )
            session.add(duplicate)
            session.add_all(
                [
                    Survey(
                        ticket_id=complaint.id,
                        customer_id=buyer.id,
                        expires_at=opened + dt.timedelta(days=14),
                        answered_at=opened + dt.timedelta(days=1),
                        csat=2,
                        nps=4,
                    ),
                    # sent, never answered: no satisfaction
                    Survey(
                        ticket_id=waiting.id,
                        customer_id=buyer.id,
                        expires_at=opened + dt.timedelta(days=14),
                    ),
                ]
            )
        table = ticket_source(db.engine, timezone="Asia/Shanghai")
    finally:
        db.dispose()
    assert table.schema == inputs.TICKETS
    rows = sorted(table.to_pylist(), key=lambda row: row["kind"])
    assert rows == [
        {
            "customer_id": rows[0]["customer_id"],
            "ts": dt.datetime(2026, 3, 2, 0, 30),
            "kind": "complaint",
            "first_response_hours": pytest.approx(3.5),
            "satisfaction": 2.0,
            "nps": 4.0,
        },
        {
            "customer_id": rows[0]["customer_id"],
            "ts": dt.datetime(2026, 3, 2, 0, 30),
            "kind": "inquiry",
            "first_response_hours": None,
            "satisfaction": None,
            "nps": None,
        },
    ]


END = dt.date(2026, 6, 30)


def _tickets(
    rows: list[tuple[int, dt.datetime, str, float, float | None, float | None]],
) -> pa.Table:
    names = ["customer_id", "ts", "kind", "first_response_hours", "satisfaction", "nps"]
    return inputs.conform(
        pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in rows]),
        inputs.TICKETS,
    )


def test_the_window_and_the_features(both: BothEngines) -> None:  # noqa: F811 - the fixture
    day = dt.datetime(2026, 6, 1, 10)
    table = _tickets(
        [
            (1, day, "complaint", 30.0, 1.0, 2.0),
            (1, day + dt.timedelta(days=10), "complaint", 10.0, 3.0, 6.0),
            (1, dt.datetime(2026, 6, 30, 23, 59), "inquiry", 2.0, None, None),
            (1, dt.datetime(2026, 7, 1, 0, 0), "complaint", 1.0, 5.0, 10.0),  # after the end
            (2, dt.datetime(2026, 6, 1, 0, 0), "inquiry", 4.0, 5.0, 9.0),  # first day of 30
            (2, dt.datetime(2026, 5, 31, 23, 59), "complaint", 4.0, 1.0, 0.0),  # before it
        ]
    )
    rows = both.run(
        lambda engine: churn.tickets_in_window(engine.table(table), end=END, days=30),
        sort_by=["customer_id", "ts"],
    )
    assert [(row["customer_id"], row["kind"]) for row in rows] == [
        (1, "complaint"),
        (1, "complaint"),
        (1, "inquiry"),
        (2, "inquiry"),
    ]
    customers = {
        "customer_id": [1, 2, 3],
        "frequency": [3.0, 1.0, 2.0],
        "recency": [100.0, 50.0, 80.0],
        "T": [200.0, 100.0, 150.0],
        "revenue": [900.0, 100.0, 400.0],
    }
    features = churn.churn_features(customers, tickets=pa.Table.from_pylist(rows))
    assert features.loc[1, "complaints"] == 2 and features.loc[3, "complaints"] == 0
    assert features.loc[1, "tickets"] == 3
    assert features.loc[1, "mean_first_response_hours"] == pytest.approx(14.0)
    assert features.loc[1, "mean_satisfaction"] == pytest.approx(2.0)
    assert features.loc[1, "latest_nps"] == 6.0  # the newest answered one
    assert features.loc[2, "latest_nps"] == 9.0
    assert np.isnan(features.loc[3, "mean_satisfaction"])
    with pytest.raises(ValueError, match="days"):
        churn.tickets_in_window(table, end=END, days=0)


def test_the_churn_model_learns_from_service_signals(
    duckdb_engine: engines.Engine,  # noqa: F811 - the fixture
) -> None:
    """Everyone bought alike; those who complained, waited and were unhappy in the window before
    the calibration end mostly stopped buying: the model's drivers are the ticket signals."""
    params = AnalysisParameters()
    window = params.churn_window_days
    calibration_end = END - dt.timedelta(days=window)
    rng = np.random.default_rng(7)
    tx_rows, ticket_rows = [], []
    for customer in range(1, 201):
        unhappy = customer % 2 == 0
        leaves = unhappy != (rng.random() < 0.1)  # one in ten goes against the rule
        day = calibration_end - dt.timedelta(days=300 - customer % 7)
        last = calibration_end if leaves else END
        order = 0
        while day <= last:
            order += 1
            ts = dt.datetime.combine(day, dt.time(10))
            tx_rows.append(
                {
                    "customer_id": customer,
                    "order_id": customer * 1000 + order,
                    "ts": ts,
                    "amount": 100.0,
                    "cost": 60.0,
                }
            )
            day += dt.timedelta(days=20)
        for at in (calibration_end, END):
            opened = dt.datetime.combine(at - dt.timedelta(days=30), dt.time(9))
            if unhappy:
                ticket_rows += [
                    (customer, opened, "complaint", 30.0, 1.0, 2.0),
                    (customer, opened + dt.timedelta(days=3), "complaint", 20.0, 2.0, 3.0),
                ]
            else:
                ticket_rows.append((customer, opened, "inquiry", 2.0, 5.0, 9.0))
    tx = duckdb_engine.table(inputs.conform(pa.Table.from_pylist(tx_rows), inputs.TRANSACTIONS))
    tickets = duckdb_engine.table(_tickets(ticket_rows))
    summary_at = model_steps.summaries(duckdb_engine, tx, params)
    frame = summary_at(END).assign(trend=0.0)

    report = model_steps.churn_report(
        duckdb_engine, tx, END, params, frame, summary_at, tickets=tickets
    )

    assert "skipped" not in report, report.get("skipped")
    features = {effect["feature"] for effect in report["effects"]}
    assert {
        "complaints",
        "mean_first_response_hours",
        "mean_satisfaction",
        "latest_nps",
    } <= features
    assert report["auc"] > 0.8
    top = report["effects"][0]
    assert top["feature"] in {
        "complaints",
        "tickets",
        "mean_first_response_hours",
        "mean_satisfaction",
        "latest_nps",
    }
    probability = report["probability"]
    unhappy = frame["customer_id"].to_numpy() % 2 == 0
    assert probability[unhappy].mean() > probability[~unhappy].mean() + 0.3

    without = model_steps.churn_report(duckdb_engine, tx, END, params, frame, summary_at)
    assert "complaints" not in {effect["feature"] for effect in without.get("effects", [])}
