"""Where each relationship stands in the customer lifecycle (客户生命周期): prospect, 考察期
exploration, 形成期 formation, 稳定期 stability, 退化期 decline, or lost, from tenure, purchase
frequency, the spend trend and the probability that the customer is still alive (BG/NBD).

Each stage has its own management focus (``nba.next_best_action`` turns stage, value tier and churn
risk into an action). Decline can happen from any stage, so the rules test it before the growth
stages. The rules, in the order they are applied (the first that matches wins):

1. **lost**: no purchase for ``lost_days`` days, or P(alive) below ``lost_p_alive``;
2. **decline**: spend trend at or below ``decline_trend``, or P(alive) below ``decline_p_alive``;
3. **exploration**: a single purchase day so far, or first purchase less than
   ``exploration_days`` ago;
4. **stability**: tenure at least ``stability_days`` and P(alive) at least ``stability_p_alive``;
5. **formation**: every other repeat buyer (steady or rising spend, not yet stable).

Customers without a purchase are **prospects** (``with_prospects``). A missing P(alive) (NaN, or
no column) is treated as unknown: it neither makes a customer lost or declining nor keeps them out
of stability. A missing trend counts as steady.

References
----------
Dwyer, F. R., Schurr, P. H. and Oh, S. (1987). Developing buyer-seller relationships. *Journal of
Marketing* 51(2), 11-27 (awareness, exploration, expansion, commitment, dissolution).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from guanxi.errors import N_

STAGES: dict[str, str] = {
    "prospect": N_("Prospect"),
    "exploration": N_("Exploration"),
    "formation": N_("Formation"),
    "stability": N_("Stability"),
    "decline": N_("Declining"),
    "lost": N_("Churned"),
}
"""Stage key -> English name (msgid), in lifecycle order. "Churned" and "Declining" rather than
"Lost" and "Decline", whose msgids already mean a lost deal and a refusal elsewhere."""

STAGE_FOCUS: dict[str, str] = {
    "prospect": N_("Not a customer yet: qualify and make a first offer."),
    "exploration": N_("Testing the relationship: earn trust with flawless first orders."),
    "formation": N_("Buying more often: deepen the relationship and widen what they buy."),
    "stability": N_("Committed and steady: keep them satisfied and loyal."),
    "decline": N_("Buying less or likely to leave: find the cause, recover or let go."),
    "lost": N_("Gone: win back if worth it, otherwise let the relationship end."),
}
"""Stage key -> the management focus the material gives for it (msgid)."""

_KEYS = np.array(list(STAGES), dtype=object)
_CODE = {key: code for code, key in enumerate(STAGES)}


@dataclass(frozen=True)
class LifecycleRules:
    """Thresholds for the stage rules; days are calendar days, trend is ``trend.spend_trend``'s."""

    exploration_days: float = 90.0
    """A customer whose first purchase is younger than this is still exploring."""
    stability_days: float = 365.0
    """Tenure needed before a relationship can count as stable."""
    stability_p_alive: float = 0.7
    """P(alive) needed for stability."""
    decline_trend: float = -1 / 3
    """Trend at or below this (spend down to half of the previous window or less) is a decline."""
    decline_p_alive: float = 0.5
    """P(alive) below this is a decline."""
    lost_p_alive: float = 0.1
    """P(alive) below this is lost."""
    lost_days: float = 365.0
    """No purchase for this many days (or more) is lost."""

    def __post_init__(self) -> None:
        if not 0 <= self.lost_p_alive <= self.decline_p_alive <= 1:
            raise ValueError("need 0 <= lost_p_alive <= decline_p_alive <= 1")
        if not 0 <= self.stability_p_alive <= 1:
            raise ValueError("stability_p_alive must lie in [0, 1]")
        if not -1 <= self.decline_trend <= 1:
            raise ValueError("decline_trend must lie in [-1, 1]")
        if min(self.exploration_days, self.stability_days, self.lost_days) < 0:
            raise ValueError("day thresholds must not be negative")


def _column(frame: Any, *names: str, required: bool = True) -> np.ndarray | None:
    present = set(frame.columns) if hasattr(frame, "columns") else set(frame)
    for name in names:
        if name in present:
            return np.asarray(frame[name], dtype=np.float64)
    if required:
        raise ValueError(f"missing column {' or '.join(repr(n) for n in names)}")
    return None


def lifecycle_stages(frame: Any, rules: LifecycleRules | None = None) -> np.ndarray:
    """The stage key of every row of ``frame``, as a NumPy object array in the frame's order.

    ``frame`` is a pandas or Polars frame or a mapping of arrays with one row per customer who
    bought: ``tenure_days`` (or ``T``: days since the first purchase), ``frequency`` (repeat
    purchase days), ``days_since_last``, and optionally ``trend`` and ``p_alive``. Vectorised: a
    million customers take a fraction of a second.
    """
    rules = rules or LifecycleRules()
    tenure = _column(frame, "tenure_days", "T")
    frequency = _column(frame, "frequency")
    since = _column(frame, "days_since_last")
    assert tenure is not None and frequency is not None and since is not None
    trend = _column(frame, "trend", required=False)
    p_alive = _column(frame, "p_alive", required=False)
    if trend is None:
        trend = np.zeros_like(tenure)
    if p_alive is None:
        p_alive = np.full_like(tenure, np.nan)
    known = ~np.isnan(p_alive)
    with np.errstate(invalid="ignore"):
        lost = (since >= rules.lost_days) | (known & (p_alive < rules.lost_p_alive))
        decline = (trend <= rules.decline_trend) | (known & (p_alive < rules.decline_p_alive))
        exploration = (frequency < 1) | (tenure < rules.exploration_days)
        stable = (tenure >= rules.stability_days) & (~known | (p_alive >= rules.stability_p_alive))
    codes = np.select(
        [lost, decline, exploration, stable],
        [_CODE["lost"], _CODE["decline"], _CODE["exploration"], _CODE["stability"]],
        default=_CODE["formation"],
    )
    return _KEYS[codes]


def with_prospects(
    customer_ids: Iterable[Any] | np.ndarray,
    scored_ids: Iterable[Any] | np.ndarray,
    scored_stages: Iterable[str] | np.ndarray,
) -> pd.DataFrame:
    """Every customer with a stage: the scored ones keep theirs, the others are prospects.

    ``customer_ids`` lists all customers (those who never bought included); ``scored_ids`` and
    ``scored_stages`` are the buyers and their ``lifecycle_stages``. Returns ``customer_id, stage``
    in the order of ``customer_ids``.
    """
    ids = _array(customer_ids)
    scored = pd.Series(_array(scored_stages).astype(object), index=pd.Index(_array(scored_ids)))
    if not scored.index.is_unique:
        raise ValueError("scored customer ids must be unique")
    stage = scored.reindex(ids).to_numpy(dtype=object, copy=True)
    stage[pd.isna(stage)] = "prospect"
    return pd.DataFrame({"customer_id": ids, "stage": stage})


def _array(values: Iterable[Any] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    if hasattr(values, "to_numpy"):
        return np.asarray(values.to_numpy())
    return np.asarray(list(values))


def stage_movements(previous: Any, current: Any) -> pd.DataFrame:
    """How many customers moved from which stage to which between two runs.

    ``previous`` and ``current`` have ``customer_id`` and ``stage`` (pandas or Polars frames).
    Returns ``from_stage, to_stage, customers`` in lifecycle order, staying customers included
    (``from_stage == to_stage``). A customer new in ``current`` has ``from_stage`` None; one
    missing from ``current`` (deleted or merged) has ``to_stage`` None.
    """
    before = _stage_frame(previous).rename(columns={"stage": "from_stage"})
    after = _stage_frame(current).rename(columns={"stage": "to_stage"})
    moved = before.merge(after, on="customer_id", how="outer")
    counts = (
        moved.fillna({"from_stage": "", "to_stage": ""})
        .groupby(["from_stage", "to_stage"], sort=False)
        .size()
        .rename("customers")
        .reset_index()
    )
    order = {key: code for code, key in enumerate(["", *STAGES])}
    counts = counts.assign(
        _from=counts.from_stage.map(order).fillna(len(order)),
        _to=counts.to_stage.map(order).fillna(len(order)),
    ).sort_values(["_from", "_to", "from_stage", "to_stage"], kind="stable")
    result = counts[["from_stage", "to_stage", "customers"]].astype(
        {"from_stage": object, "to_stage": object, "customers": np.int64}
    )
    result = result.replace({"from_stage": {"": None}, "to_stage": {"": None}})
    return result.reset_index(drop=True)


def _stage_frame(frame: Any) -> pd.DataFrame:
    if isinstance(frame, Mapping):
        frame = pd.DataFrame(dict(frame))
    elif hasattr(frame, "to_pandas") and not isinstance(frame, pd.DataFrame):
        frame = frame.to_pandas()
    missing = {"customer_id", "stage"} - set(frame.columns)
    if missing:
        raise ValueError(f"missing column {sorted(missing)[0]!r}")
    if frame["customer_id"].duplicated().any():
        raise ValueError("customer ids must be unique in each run")
    return pd.DataFrame(
        {"customer_id": frame["customer_id"].to_numpy(), "stage": frame["stage"].astype(object)}
    )
