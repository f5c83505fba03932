"""Lifecycle stages: every stage reached, thresholds at their edges, prospects, movements."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import polars as pl
import pytest

from guanxi.analytics import lifecycle
from guanxi.analytics.lifecycle import LifecycleRules, lifecycle_stages

RULES = LifecycleRules()


def stage(
    *,
    tenure: float = 500.0,
    frequency: float = 5,
    since: float = 10.0,
    trend: float = 0.0,
    p_alive: float = 0.9,
) -> str:
    frame = {
        "tenure_days": [tenure],
        "frequency": [frequency],
        "days_since_last": [since],
        "trend": [trend],
        "p_alive": [p_alive],
    }
    return str(lifecycle_stages(frame)[0])


def test_each_stage_is_reached() -> None:
    assert stage() == "stability"
    assert stage(tenure=200) == "formation"
    assert stage(tenure=30, frequency=2) == "exploration"
    assert stage(frequency=0, tenure=400, since=400) == "lost"
    assert stage(trend=-0.8) == "decline"
    assert stage(p_alive=0.05) == "lost"


def test_thresholds_at_their_edges() -> None:
    # exploration ends exactly at exploration_days
    assert stage(tenure=RULES.exploration_days - 1e-9, frequency=3) == "exploration"
    assert stage(tenure=RULES.exploration_days, frequency=3) == "formation"
    # stability starts exactly at stability_days and at stability_p_alive
    assert stage(tenure=RULES.stability_days - 1e-9) == "formation"
    assert stage(tenure=RULES.stability_days) == "stability"
    assert stage(p_alive=RULES.stability_p_alive) == "stability"
    assert stage(p_alive=RULES.stability_p_alive - 1e-9) == "formation"
    # decline: trend at the threshold declines, just above does not
    assert stage(trend=RULES.decline_trend) == "decline"
    assert stage(trend=RULES.decline_trend + 1e-9) == "stability"
    assert stage(p_alive=RULES.decline_p_alive - 1e-9) == "decline"
    assert stage(p_alive=RULES.decline_p_alive) == "formation"  # alive enough, not stable
    # lost: exactly lost_days without a purchase, or P(alive) just under lost_p_alive
    assert stage(since=RULES.lost_days) == "lost"
    assert stage(since=RULES.lost_days - 1) == "stability"
    assert stage(p_alive=RULES.lost_p_alive - 1e-9) == "lost"
    assert stage(p_alive=RULES.lost_p_alive) == "decline"


def test_decline_can_happen_from_any_stage_and_single_buyers_explore() -> None:
    # a one-off buyer who came recently explores; one who has not come back for months declines
    assert stage(frequency=0, tenure=20, since=20, trend=1.0, p_alive=1.0) == "exploration"
    assert stage(frequency=0, tenure=200, since=200, trend=-1.0, p_alive=1.0) == "decline"
    assert stage(tenure=40, frequency=2, trend=-0.5) == "decline"


def test_missing_p_alive_and_trend_are_unknown_not_alarming() -> None:
    frame = pd.DataFrame(
        {"T": [500.0, 500.0, 30.0], "frequency": [4, 4, 0], "days_since_last": [5, 400, 30]}
    )
    assert lifecycle_stages(frame).tolist() == ["stability", "lost", "exploration"]
    frame["p_alive"] = [np.nan, 0.95, np.nan]
    assert lifecycle_stages(frame).tolist() == ["stability", "lost", "exploration"]


def test_polars_frames_custom_rules_and_missing_columns() -> None:
    frame = pl.DataFrame(
        {"T": [100.0], "frequency": [3], "days_since_last": [5.0], "trend": [0.1], "p_alive": [0.9]}
    )
    assert lifecycle_stages(frame).tolist() == ["formation"]
    assert lifecycle_stages(frame, LifecycleRules(stability_days=100)).tolist() == ["stability"]
    with pytest.raises(ValueError, match="'tenure_days' or 'T'"):
        lifecycle_stages({"frequency": [1], "days_since_last": [1]})
    with pytest.raises(ValueError, match="lost_p_alive"):
        LifecycleRules(lost_p_alive=0.6, decline_p_alive=0.5)


def test_a_million_customers_in_well_under_a_second() -> None:
    rng = np.random.default_rng(1)
    n = 1_000_000
    frame = {
        "tenure_days": rng.uniform(0, 730, n),
        "frequency": rng.poisson(2, n),
        "days_since_last": rng.uniform(0, 500, n),
        "trend": rng.uniform(-1, 1, n),
        "p_alive": rng.uniform(0, 1, n),
    }
    started = time.perf_counter()
    stages = lifecycle_stages(frame)
    elapsed = time.perf_counter() - started
    assert len(stages) == n
    assert set(stages) == set(lifecycle.STAGES) - {"prospect"}
    assert elapsed < 1.0


def test_customers_without_purchases_are_prospects() -> None:
    frame = lifecycle.with_prospects([5, 1, 2, 9], np.array([2, 5]), ["decline", "stability"])
    assert frame.to_dict("list") == {
        "customer_id": [5, 1, 2, 9],
        "stage": ["stability", "prospect", "decline", "prospect"],
    }
    nobody_bought = lifecycle.with_prospects(np.array([3, 4]), [], [])
    assert nobody_bought["stage"].tolist() == ["prospect", "prospect"]
    with pytest.raises(ValueError, match="unique"):
        lifecycle.with_prospects([1], [1, 1], ["lost", "lost"])


def test_stage_movements_between_runs() -> None:
    previous = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "stage": ["exploration", "exploration", "stability", "stability", "decline"],
        }
    )
    current = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 6],
            "stage": ["formation", "formation", "stability", "decline", "prospect"],
        }
    )
    moves = lifecycle.stage_movements(previous, current)
    assert moves.to_dict("records") == [
        {"from_stage": None, "to_stage": "prospect", "customers": 1},
        {"from_stage": "exploration", "to_stage": "formation", "customers": 2},
        {"from_stage": "stability", "to_stage": "stability", "customers": 1},
        {"from_stage": "stability", "to_stage": "decline", "customers": 1},
        {"from_stage": "decline", "to_stage": None, "customers": 1},
    ]
    assert moves["customers"].sum() == 6
    first_run = lifecycle.stage_movements(previous.iloc[:0], previous)
    assert first_run["from_stage"].isna().all() and first_run["customers"].sum() == 5
    with pytest.raises(ValueError, match="unique"):
        lifecycle.stage_movements(pd.concat([previous, previous]), current)


def test_every_stage_has_a_name_and_a_focus() -> None:
    assert list(lifecycle.STAGES) == [
        "prospect",
        "exploration",
        "formation",
        "stability",
        "decline",
        "lost",
    ]
    assert lifecycle.STAGE_FOCUS.keys() == lifecycle.STAGES.keys()
