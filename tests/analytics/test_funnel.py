"""Pipeline funnel from the stage history on both engines, with the sales funnel's definitions."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from guanxi.analytics import funnel
from guanxi.analytics.engine import Engine
from tests.analytics.conftest import BothEngines

DAY = 86400.0
LEAD, QUALIFIED, PROPOSAL, WON, LOST = 1, 2, 3, 4, 5

STAGES = pa.table(
    {
        "stage_id": [LEAD, QUALIFIED, PROPOSAL, WON, LOST],
        "position": [1, 2, 3, 4, 5],
        "name": ["Lead", "Qualified", "Proposal", "Won", "Lost"],
        "is_won": [False, False, False, True, False],
        "is_lost": [False, False, False, False, True],
    },
    schema=funnel.STAGES,
)


def history(*moves: tuple[int, int | None, int, float | None]) -> pa.Table:
    """(opportunity, from stage, to stage, days in the stage left); one hour apart, in order."""
    start = dt.datetime(2024, 1, 1)
    return pa.table(
        {
            "opportunity_id": [m[0] for m in moves],
            "from_stage_id": [m[1] for m in moves],
            "to_stage_id": [m[2] for m in moves],
            "changed_at": [start + dt.timedelta(hours=i) for i in range(len(moves))],
            "seconds_in_stage": [None if m[3] is None else m[3] * DAY for m in moves],
        },
        schema=funnel.STAGE_CHANGES,
    )


PIPELINE = history(
    # A goes all the way and wins
    (1, None, LEAD, None),
    (1, LEAD, QUALIFIED, 2.0),
    (1, QUALIFIED, PROPOSAL, 4.0),
    (1, PROPOSAL, WON, 1.0),
    # B is lost after qualifying; C is lost at once
    (2, None, LEAD, None),
    (2, LEAD, QUALIFIED, 1.0),
    (2, QUALIFIED, LOST, 3.0),
    (3, None, LEAD, None),
    (3, LEAD, LOST, 5.0),
    # D is created at the proposal stage and is still there: it reached lead and qualified too
    (4, None, PROPOSAL, None),
    # E goes back and forth: each stay counts
    (5, None, LEAD, None),
    (5, LEAD, QUALIFIED, 3.0),
    (5, QUALIFIED, LEAD, 2.0),
    (5, LEAD, QUALIFIED, 1.0),
    # F is won straight from the lead stage: a win passes every open stage
    (6, None, LEAD, None),
    (6, LEAD, WON, 0.5),
    # G was won and reopened: it got through every stage but is not won now
    (7, None, LEAD, None),
    (7, LEAD, QUALIFIED, 1.0),
    (7, QUALIFIED, WON, 1.5),
    (7, WON, QUALIFIED, 2.0),
)


def test_reach_conversion_and_time_in_stage(both: BothEngines) -> None:
    rows = both.run(
        lambda engine: funnel.stage_conversion(engine.table(PIPELINE), engine.table(STAGES)),
        sort_by="position",
    )
    assert [row["name"] for row in rows] == ["Lead", "Qualified", "Proposal"]
    assert [row["reached"] for row in rows] == [7, 6, 4]
    assert [row["next_stage_id"] for row in rows] == [QUALIFIED, PROPOSAL, None]
    assert [row["converted"] for row in rows] == [6, 4, 2]  # the last converts to won: A and F
    assert [row["conversion"] for row in rows] == pytest.approx([6 / 7, 4 / 6, 0.5])
    assert [row["overall"] for row in rows] == pytest.approx([1.0, 6 / 7, 4 / 7])
    assert [row["to_won"] for row in rows] == pytest.approx([2 / 7, 2 / 6, 0.5])
    assert [row["exits"] for row in rows] == [7, 4, 1]
    # lead stays 2, 1, 5, 3, 1, 0.5, 1 days; qualified 4, 3, 2, 1.5 (an even count: the middle two)
    assert [row["median_days"] for row in rows] == [1.0, 2.5, 1.0]
    assert [row["mean_days"] for row in rows] == pytest.approx([13.5 / 7, 10.5 / 4, 1.0])


def test_furthest_position_and_current_outcome_per_opportunity(duckdb_engine: Engine) -> None:
    progress = funnel.opportunity_progress(
        duckdb_engine.table(PIPELINE), duckdb_engine.table(STAGES)
    )
    rows = duckdb_engine.to_arrow(progress).sort_by("opportunity_id").to_pylist()
    assert [(r["furthest_position"], r["is_won"]) for r in rows] == [
        (3, True),
        (2, False),
        (1, False),
        (3, False),
        (2, False),
        (3, True),
        (3, False),
    ]


def test_an_empty_history_still_lists_the_stages(both: BothEngines) -> None:
    empty = funnel.STAGE_CHANGES.empty_table()
    rows = both.run(
        lambda engine: funnel.stage_conversion(engine.table(empty), engine.table(STAGES)),
        sort_by="position",
    )
    assert [(row["reached"], row["converted"], row["exits"]) for row in rows] == [(0, 0, 0)] * 3
    assert {row["conversion"] for row in rows} == {None}
    assert {row["overall"] for row in rows} == {None}
    assert {row["median_days"] for row in rows} == {None}


def test_stage_without_exits_has_no_time(duckdb_engine: Engine) -> None:
    only_new = history((1, None, LEAD, None), (2, None, QUALIFIED, None))
    rows = duckdb_engine.to_arrow(
        funnel.stage_conversion(duckdb_engine.table(only_new), duckdb_engine.table(STAGES))
    ).to_pylist()
    rows.sort(key=lambda row: row["position"])
    assert [row["reached"] for row in rows] == [2, 1, 0]
    assert [row["conversion"] for row in rows] == [0.5, 0.0, None]
    assert [row["exits"] for row in rows] == [0, 0, 0]
    assert [row["mean_days"] for row in rows] == [None, None, None]
