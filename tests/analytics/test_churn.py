"""Churn: risk formula, the label on both engines, features from optional sources, the supervised
model finding planted drivers, cause explanations and the win-back list."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from guanxi.analytics import churn, inputs
from tests.analytics.conftest import BothEngines

CAL_END = dt.date(2024, 6, 30)


def test_risk_follows_p_alive_and_trend() -> None:
    p = np.array([1.0, 0.2, 0.8, 0.8, 0.8, np.nan])
    t = np.array([0.0, 0.0, -1.0, 1.0, np.nan, 0.0])
    risk = churn.churn_risk(p, t, trend_weight=0.5)
    assert risk[:5] == pytest.approx([0.0, 0.8, 0.2 + 0.8 * 0.5, 0.2 * 0.5, 0.2])
    assert np.isnan(risk[5])  # unknown, not safe
    # monotone: lower P(alive) or falling spend never lowers the risk
    grid_p, grid_t = np.meshgrid(np.linspace(0, 1, 21), np.linspace(-1, 1, 21))
    surface = churn.churn_risk(grid_p, grid_t)
    assert ((surface >= 0) & (surface <= 1)).all()
    assert (np.diff(surface, axis=1) <= 1e-12).all()  # rising p_alive
    assert (np.diff(surface, axis=0) <= 1e-12).all()  # rising trend
    # the supervised model's probability wins where known
    model = np.array([0.3, np.nan, 0.9, 0.1, 0.5, 0.7])
    mixed = churn.churn_risk(p, t, model_probability=model)
    assert mixed[[0, 2, 3, 4, 5]] == pytest.approx([0.3, 0.9, 0.1, 0.5, 0.7])
    assert mixed[1] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="trend_weight"):
        churn.churn_risk(p, t, trend_weight=2)


def test_label_is_active_before_and_silent_after(both: BothEngines) -> None:
    def row(customer: int, day: dt.date, amount: float) -> dict[str, object]:
        ts = dt.datetime.combine(day, dt.time(10))
        return {"customer_id": customer, "order_id": 0, "ts": ts, "amount": amount, "cost": 0.0}

    rows = [
        row(1, CAL_END, 10.0),  # active on the last calibration day ...
        row(1, CAL_END + dt.timedelta(days=30), 10.0),  # ... and came back: retained
        row(2, CAL_END - dt.timedelta(days=29), 10.0),  # active, silent afterwards: churned
        row(2, CAL_END + dt.timedelta(days=31), 10.0),  # a purchase after the window: too late
        row(3, CAL_END - dt.timedelta(days=30), 10.0),  # not active in the calibration period
        row(4, CAL_END - dt.timedelta(days=5), 10.0),
        row(4, CAL_END + dt.timedelta(days=5), 10.0),
        row(4, CAL_END + dt.timedelta(days=5, hours=2), -10.0),  # returned: no purchase
    ]
    tx = inputs.conform(pa.Table.from_pylist(rows), inputs.TRANSACTIONS)
    labels = both.run(
        lambda engine: churn.churn_labels(
            engine.table(tx), calibration_end=CAL_END, observation_days=30, active_days=30
        ),
        sort_by="customer_id",
    )
    assert [(r["customer_id"], r["churned"]) for r in labels] == [
        (1, False),
        (2, True),
        (4, True),
    ]


def test_features_leave_out_sources_that_are_missing() -> None:
    customers = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "frequency": [3, 0, 1],
            "recency": [100.0, 0.0, 10.0],
            "T": [150.0, 20.0, 40.0],
            "revenue": [300.0, 20.0, 80.0],
            "channels": [["shop", "web"], ["web"], None],
        }
    )
    base = churn.churn_features(customers)
    assert list(base.columns) == [
        "frequency",
        "tenure",
        "days_since_last",
        "revenue",
        "channel_web",
        "channel_shop",
    ]
    assert base.loc[1, "days_since_last"] == 50.0
    assert base["channel_shop"].tolist() == [1.0, 0.0, 0.0]
    # an empty ticket source adds nothing; tickets without satisfaction add no satisfaction
    empty = churn.churn_features(customers, tickets=inputs.empty(inputs.TICKETS))
    assert list(empty.columns) == list(base.columns)
    tickets = pd.DataFrame(
        {
            "customer_id": [1, 1, 3],
            "kind": ["complaint", "inquiry", "complaint"],
            "first_response_hours": [2.0, 4.0, np.nan],
            "satisfaction": [np.nan, np.nan, np.nan],
        }
    )
    trend = pd.DataFrame({"customer_id": [3, 1], "trend": [-0.5, 0.25]})
    prices = pd.DataFrame({"customer_id": [1], "mean_discount": [0.1], "price_ratio": [None]})
    full = churn.churn_features(customers, trend=trend, tickets=tickets, prices=prices)
    assert full["trend"].tolist()[0] == 0.25 and np.isnan(full.loc[2, "trend"])
    assert full["complaints"].tolist() == [1.0, 0.0, 1.0]  # zero complaints is data
    assert full["tickets"].tolist() == [2.0, 0.0, 1.0]
    assert full.loc[1, "mean_first_response_hours"] == 3.0
    assert np.isnan(full.loc[2, "mean_first_response_hours"])  # no tickets: unknown, not 0
    assert "mean_satisfaction" not in full.columns and "price_ratio" not in full.columns
    assert full.loc[1, "mean_discount"] == 0.1
    with pytest.raises(ValueError, match="'recency'"):
        churn.churn_features(pd.DataFrame({"customer_id": [1], "frequency": [1]}))


def simulate(n: int, seed: int, *, with_tickets: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers whose churn is driven by falling spend and complaints, nothing else."""
    rng = np.random.default_rng(seed)
    frequency = rng.poisson(3, n)
    age = rng.uniform(60, 700, n)
    recency = age * rng.uniform(0.3, 1.0, n)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "frequency": frequency,
            "recency": recency,
            "T": age,
            "revenue": rng.gamma(2, 100, n),
            "channels": [["web"] if rng.random() < 0.5 else ["shop"] for _ in range(n)],
        }
    )
    trend = rng.uniform(-1, 1, n)
    complaints = rng.poisson(0.6, n)
    logit = -0.5 - 2.5 * trend + (1.2 * complaints if with_tickets else 0)
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    trends = pd.DataFrame({"customer_id": customers.customer_id, "trend": trend})
    tickets = None
    if with_tickets:
        # inquiries too, so having tickets at all does not give the complaints away
        inquiries = rng.poisson(2.0, n)
        ids = customers.customer_id.to_numpy()
        owners = np.concatenate([np.repeat(ids, complaints), np.repeat(ids, inquiries)])
        tickets = pd.DataFrame(
            {
                "customer_id": owners,
                "kind": ["complaint"] * complaints.sum() + ["inquiry"] * inquiries.sum(),
                "first_response_hours": rng.uniform(1, 48, len(owners)),
                "satisfaction": rng.uniform(1, 5, len(owners)),
            }
        )
    return churn.churn_features(customers, trend=trends, tickets=tickets), churned


def test_model_finds_the_planted_drivers() -> None:
    features, churned = simulate(4000, seed=7)
    report = churn.fit_churn_model(features, churned, seed=1)
    assert report.auc > 0.75
    assert (report.n_train, report.n_holdout) == (3000, 1000)
    top = [e.feature for e in report.effects[:2]]
    assert set(top) == {"trend", "complaints"}
    effects = {e.feature: e for e in report.effects}
    assert effects["trend"].direction == "lowers"  # higher trend, less churn
    assert effects["complaints"].direction == "raises"
    assert effects["complaints"].churned_mean > effects["complaints"].retained_mean
    assert effects["revenue"].importance < effects["complaints"].importance / 5
    probability = report.model.predict_proba(features.head(5))
    assert probability.shape == (5,) and ((probability >= 0) & (probability <= 1)).all()
    causes = churn.churn_causes(report, min_importance=0.01)
    assert [c.feature for c in causes[:2]] == top
    by_feature = {c.feature: c for c in causes}
    assert by_feature["trend"].explanation == "Customers who leave had falling spend."
    assert by_feature["complaints"].explanation == "Customers who leave had complained more."


def test_logistic_model_and_missing_ticket_columns() -> None:
    features, churned = simulate(2000, seed=3, with_tickets=False)
    assert "complaints" not in features.columns
    report = churn.fit_churn_model(features, churned, seed=2, method="logistic")
    assert report.auc > 0.7
    assert report.effects[0].feature == "trend"
    with pytest.raises(ValueError, match="missing feature 'trend'"):
        report.model.predict_proba(features.drop(columns="trend"))


def test_model_refuses_a_single_class() -> None:
    features, _ = simulate(100, seed=1)
    with pytest.raises(ValueError, match="both churned and retained"):
        churn.fit_churn_model(features, np.zeros(100, dtype=bool))
    with pytest.raises(ValueError, match="one value per feature row"):
        churn.fit_churn_model(features, np.zeros(3, dtype=bool))


def test_causes_explain_channels_unknown_features_and_no_direction() -> None:
    effects = [
        churn.FeatureEffect("channel_web", 0.05, 0.01, -0.2, 0.3, 0.6),
        churn.FeatureEffect("loyalty_points", 0.03, 0.01, 0.1, 5.0, 3.0),
        churn.FeatureEffect("tenure", 0.02, 0.01, 0.0, 100.0, 100.0),
        churn.FeatureEffect("revenue", 0.0, 0.0, 0.3, 1.0, 1.0),
    ]
    report = churn.ChurnModelReport(churn.ChurnModel(None, []), 0.8, 10, 10, 0.5, effects)
    causes = churn.churn_causes(report)
    assert [(c.feature, c.direction, c.params) for c in causes] == [
        ("channel_web", "lowers", {"channel": "web"}),
        ("loyalty_points", "raises", {"feature": "loyalty_points"}),
        ("tenure", "none", {"feature": "tenure"}),
    ]
    assert causes[0].explanation.format(**causes[0].params) == (
        "Customers who leave bought less through the web channel."
    )


def test_group_comparison_of_at_risk_and_retained() -> None:
    features = pd.DataFrame({"trend": [-1.0, -0.5, 0.5, 1.0], "revenue": [10.0, 30.0, 20.0, 20.0]})
    table = churn.compare_groups(features, [True, True, False, False])
    assert table["feature"].tolist() == ["trend", "revenue"]
    trend_row = table.iloc[0]
    assert (trend_row.at_risk_mean, trend_row.retained_mean) == (-0.75, 0.75)
    assert trend_row.standardised_difference == pytest.approx(-1.5 / 0.25)


def test_winback_list_ranks_valuable_reachable_customers() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6, 7],
            "stage": ["lost", "decline", "stability", "decline", "lost", "decline", "lost"],
            "margin": [1000.0, 800.0, 5000.0, 50.0, 900.0, 400.0, 2000.0],
            "p_alive": [0.2, 0.5, 0.9, 0.9, 0.2, 0.9, 0.01],
        }
    )
    ranked = churn.winback_candidates(frame, min_value=100)
    # 3 is not slipping away, 4 is worth too little, 7 is beyond reach; the rest by
    # margin x P(alive)
    assert ranked["customer_id"].tolist() == [2, 6, 1, 5]
    assert ranked["rank"].tolist() == [1, 2, 3, 4]
    assert ranked["score"].tolist() == [400.0, 360.0, 200.0, 180.0]
    same = frame.assign(margin=100.0, p_alive=[0.2, 0.5, 0.9, 0.5, 0.2, 0.9, 0.01])
    top = churn.winback_candidates(same, min_value=100, limit=3)
    assert top["customer_id"].tolist() == [6, 2, 4]  # 4 and 2 tie at 50: the lower id first
    with pytest.raises(ValueError, match="'clv'"):
        churn.winback_candidates(frame, min_value=0, value_column="clv")
