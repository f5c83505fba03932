"""Pipeline funnel helpers over the stage-change history, as Ibis expressions: how many
opportunities got at least as far as each open stage, how many of them went on, and how long they
stayed. The definitions are the sales funnel's (``guanxi.sales.funnel``, docs/analytics-funnel.md),
computed from the history alone so they run on DuckDB or Spark over any number of opportunities:

- The funnel's stages are the **open** stages of ``stages`` (neither won nor lost) by position.
  Pass the stages the funnel should show (the active ones), won and lost stages included.
- **Furthest position** of an opportunity: the highest position of an open stage it ever entered;
  entering a won stage counts as having passed every open stage (the last open position), entering
  a lost stage adds nothing. An opportunity created at a later stage has reached the earlier ones.
- **reached(s)** = opportunities whose furthest position >= position(s).
- **converted(s)** = reached(next open stage); for the last open stage, the opportunities whose
  *current* stage (the latest move, ties by ``changed_at`` broken by the higher ``to_stage_id``)
  is won. **conversion** = converted / reached; **overall** = reached / all opportunities in the
  history (conversion from entering the funnel to this stage); **to_won** = won / reached.
- **Time in stage**: over every move *out of* the stage with ``seconds_in_stage`` known (each stay
  counts, also after going back), in days: ``exits``, ``mean_days`` (the sales funnel's average)
  and ``median_days``. Opportunities still in the stage are not counted.

Which opportunities count (a creation cohort, a team's) is the caller's filter on
``stage_changes``.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
from ibis.expr.types import Table

from guanxi.analytics.inputs import TIMESTAMP

STAGE_CHANGES = pa.schema(
    [
        ("opportunity_id", pa.int64()),
        ("from_stage_id", pa.int64()),
        ("to_stage_id", pa.int64()),
        ("changed_at", TIMESTAMP),
        ("seconds_in_stage", pa.float64()),
    ]
)
"""One row per move (``opportunity_stage_changes``); the first placement has no ``from_stage_id``.
``seconds_in_stage`` is the time spent in the stage that was left (null when unknown)."""

STAGES = pa.schema(
    [
        ("stage_id", pa.int64()),
        ("position", pa.int64()),
        ("name", pa.string()),
        ("is_won", pa.bool_()),
        ("is_lost", pa.bool_()),
    ]
)
"""The pipeline's stages (``pipeline_stages``): outcome ``won`` / ``lost`` as two flags."""

FUNNEL_COLUMNS = (
    "stage_id",
    "position",
    "name",
    "reached",
    "next_stage_id",
    "converted",
    "conversion",
    "overall",
    "to_won",
    "exits",
    "mean_days",
    "median_days",
)

SECONDS_PER_DAY = 86400.0


def _ratio(part: ibis.Value, whole: ibis.Value) -> ibis.Value:
    return ibis.ifelse(whole > 0, part.cast("float64") / whole, ibis.null("float64"))


def opportunity_progress(stage_changes: Table, stages: Table) -> Table:
    """Per opportunity: ``furthest_position`` (see the module) and ``is_won`` (current stage)."""
    open_stages = stages.filter(~stages.is_won & ~stages.is_lost)
    top = open_stages.aggregate(top_position=open_stages.position.max())
    moves = stage_changes.join(stages, stage_changes.to_stage_id == stages.stage_id).select(
        stage_changes.opportunity_id,
        stage_changes.changed_at,
        stage_changes.to_stage_id,
        stages.position,
        stages.is_won,
        stages.is_lost,
    )
    moves = moves.cross_join(top)
    reach = ibis.cases(
        (moves.is_won, moves.top_position),
        (moves.is_lost, ibis.null("int64")),
        else_=moves.position,
    )
    latest = ibis.row_number().over(
        group_by=moves.opportunity_id,
        order_by=[ibis.desc(moves.changed_at), ibis.desc(moves.to_stage_id)],
    )
    moves = moves.mutate(reach=reach, latest=latest)
    return moves.group_by("opportunity_id").aggregate(
        furthest_position=moves.reach.max(),
        is_won=(moves.is_won & (moves.latest == 0)).any(),
    )


def stage_conversion(stage_changes: Table, stages: Table) -> Table:
    """One row per open stage, by position: reach, conversion and time in stage.

    Inputs have the ``STAGE_CHANGES`` and ``STAGES`` columns; columns are ``FUNNEL_COLUMNS``
    (``next_stage_id`` is null for the last open stage, whose next step is winning).
    """
    open_stages = stages.filter(~stages.is_won & ~stages.is_lost).select(
        "stage_id", "position", "name"
    )
    progress = opportunity_progress(stage_changes, stages)
    # opportunities per furthest position: a few rows, whatever the number of opportunities
    by_furthest = progress.group_by("furthest_position").aggregate(
        opportunities=progress.count().cast("int64")
    )
    # Spark counts with a condition as a sum, which is null over no rows: say 0
    totals = progress.aggregate(
        everyone=progress.count().fill_null(0).cast("int64"),
        won=progress.count(where=progress.is_won).fill_null(0).cast("int64"),
    )
    reaching = open_stages.left_join(
        by_furthest, by_furthest.furthest_position >= open_stages.position
    ).select(open_stages, by_furthest.opportunities)
    reached = reaching.group_by(["stage_id", "position", "name"]).aggregate(
        reached=reaching.opportunities.sum().fill_null(0).cast("int64")
    )
    reached = reached.cross_join(totals)
    following = ibis.window(order_by=[reached.position, reached.stage_id])
    next_reached = reached.reached.lead().over(following)
    rows = reached.mutate(
        next_stage_id=reached.stage_id.lead().over(following),
        converted=ibis.coalesce(next_reached, reached.won).cast("int64"),
    )

    left = stage_changes.filter(
        stage_changes.from_stage_id.notnull() & stage_changes.seconds_in_stage.notnull()
    )
    days = left.seconds_in_stage.cast("float64") / SECONDS_PER_DAY
    stays = left.group_by(stage_id=left.from_stage_id).aggregate(
        exits=left.count().cast("int64"),
        mean_days=days.mean(),
        median_days=days.median(),
    )
    rows = rows.left_join(stays, "stage_id").select(
        rows, stays.exits.fill_null(0).name("exits"), stays.mean_days, stays.median_days
    )
    return rows.select(
        "stage_id",
        "position",
        "name",
        "reached",
        "next_stage_id",
        "converted",
        conversion=_ratio(rows.converted, rows.reached),
        overall=_ratio(rows.reached, rows.everyone),
        to_won=_ratio(rows.won, rows.reached),
        exits=rows.exits,
        mean_days=rows.mean_days,
        median_days=rows.median_days,
    )
