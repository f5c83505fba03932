"""What the portrait says about a customer's scores: the models' figures explained in plain
words, and the main drivers of the churn risk.

Drivers come from the churn model of the run (its report ``churn`` in ``analysis_reports``) when
it was fitted, because its probability is then the customer's risk. A feature drives this
customer's risk when the model's effect and the data agree on which side the leavers are (higher
values raise the churn probability and those who left had higher values, or both the other way)
and the customer's own value (derived from the score row) lies on that side: at least
``MIN_POSITION`` of the way from the mean of those who stayed towards the mean of those who left.
Drivers are ranked by the feature's permutation importance times that position (capped at 2).

Without a model the risk is the BG/NBD chance of being gone moved by the spend trend
(``churn.churn_risk``), and the drivers are the two parts of that formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guanxi.analytics.models import CustomerScore
from guanxi.analytics.params import AnalysisParameters
from guanxi.analytics.portrait_words import (
    Duration,
    Money,
    Number,
    Percent,
    Phrase,
    Value,
    decimal1,
)
from guanxi.analytics.summary import DAYS_PER_UNIT
from guanxi.errors import N_

MAX_DRIVERS = 3
MIN_POSITION = 0.5
"""How far from the mean of those who stayed towards the mean of those who left (1 = at it) a
customer's value must lie before it counts as a driver."""
MIN_CONTRIBUTION = 0.05
"""The least share of risk a part of the formula must bring to be named."""
TREND_WEIGHT = 0.5  # churn.churn_risk's default, the one scoring runs use


@dataclass(frozen=True)
class Driver:
    """One reason for the churn risk: which figure, how strongly (0-1) and in words."""

    feature: str
    strength: float
    phrase: Phrase


def _days(score: CustomerScore, unit_days: int) -> tuple[float, float]:
    """Days since the first purchase and since the last one, to the run's observation end."""
    return score.age * unit_days, (score.age - score.recency) * unit_days


def explanation(score: CustomerScore, params: AnalysisParameters) -> list[Phrase]:
    """The purchase history, the BG/NBD forecast and the CLV, each as one sentence."""
    unit_days = DAYS_PER_UNIT.get(params.unit, 1)
    age, since = _days(score, unit_days)
    days, orders = score.frequency + 1, max(score.orders, score.frequency + 1)
    values: dict[str, Value] = {
        "orders": Number(orders),
        "days": Number(days),
        "span": Duration(age),
        "since": Duration(since),
    }
    if days == 1:
        text = (
            N_("Bought once, {since} ago.")
            if orders == 1
            else N_("Placed {orders} orders on a single day, {since} ago.")
        )
    elif orders == days:
        text = N_("Bought {orders} times over {span}, the last {since} ago.")
    else:
        text = N_("Bought {orders} times on {days} days over {span}, the last {since} ago.")
    sentences = [Phrase(text, values)]
    if score.p_alive is not None and score.expected_purchases is not None:
        sentences.append(
            Phrase(
                N_(
                    "The BG/NBD model puts the chance that they are still a customer at "
                    "{p_alive} and expects {purchases} purchases in the next {horizon} days."
                ),
                {
                    "p_alive": Percent(score.p_alive),
                    "purchases": decimal1(score.expected_purchases),
                    "horizon": Number(params.clv.horizon_days),
                },
            )
        )
    if score.expected_spend is not None and score.clv is not None:
        sentences.append(
            Phrase(
                N_(
                    "At an expected {spend} per purchase and a margin of {margin}, that is a "
                    "customer lifetime value (CLV) of {clv}, discounted at {rate} a year."
                ),
                {
                    "spend": Money(score.expected_spend),
                    "margin": Percent(margin_rate(score)),
                    "clv": Money(score.clv),
                    "rate": Percent(params.clv.discount_rate),
                },
            )
        )
    return sentences


def margin_rate(score: CustomerScore) -> float:
    """Margin over revenue, clipped to [0, 1] as the CLV step clips it."""
    revenue = float(score.revenue or 0)
    if revenue <= 0:
        return 0.0
    return min(max(float(score.margin or 0) / revenue, 0.0), 1.0)


# ---------------------------------------------------------------- churn drivers

_FEATURE_WORDS: dict[str, str] = {
    "days_since_last": N_(
        "{value} since the last purchase; customers who stayed averaged {typical}."
    ),
    "frequency": N_("Repeat purchases: {value}; customers who stayed averaged {typical}."),
    "tenure": N_("A customer for {value}; customers who stayed averaged {typical}."),
    "revenue": N_("Spent {value} in all; customers who stayed averaged {typical}."),
}
_FALLING = N_(
    "Spending in the last {window} days is {change} lower than in the {window} days before."
)
_STOPPED = N_("Bought nothing in the last {window} days, after buying in the {window} days before.")
_P_ALIVE = N_(
    "Given how often they used to buy, {since} without a purchase leaves a {p_alive} chance "
    "that they are still a customer."
)


Shown = Callable[[float], Value]


def _feature_values(
    score: CustomerScore, unit_days: int
) -> dict[str, tuple[float | None, Shown, Shown]]:
    """The churn model's features that the score row holds (in the model's units), each with
    how the customer's value and the group mean are shown; channel and ticket features are not
    kept per customer."""

    def span(value: float) -> Value:
        return Duration(value * unit_days)

    return {
        "days_since_last": (score.age - score.recency, span, span),
        "tenure": (score.age, span, span),
        "frequency": (float(score.frequency), Number, decimal1),
        "revenue": (float(score.revenue or 0), Money, Money),
        "trend": (score.trend, Number, Number),
    }


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _trend_phrase(trend: float, window: int) -> Phrase:
    if trend <= -1:
        return Phrase(_STOPPED, {"window": Number(window)})
    # the symmetric change t gives recent / previous = (1 + t) / (1 - t)
    drop = 1 - (1 + trend) / (1 - trend)
    return Phrase(_FALLING, {"window": Number(window), "change": Percent(drop)})


def _model_drivers(
    score: CustomerScore, effects: list[dict[str, Any]], params: AnalysisParameters
) -> list[Driver]:
    unit_days = DAYS_PER_UNIT.get(params.unit, 1)
    known = _feature_values(score, unit_days)
    weights = [float(e["importance"]) for e in effects if _finite(e.get("importance"))]
    top = max([w for w in weights if w > 0], default=0.0)
    drivers = []
    for effect in effects:
        name, stayed, left = (
            effect.get("feature"),
            effect.get("retained_mean"),
            effect.get("churned_mean"),
        )
        importance = float(effect["importance"]) if _finite(effect.get("importance")) else 0.0
        if name not in known or importance <= 0 or top <= 0:
            continue
        value, shown, typical = known[name]
        if not (_finite(value) and _finite(stayed) and _finite(left)) or left == stayed:
            continue
        assert value is not None and stayed is not None and left is not None
        # the model must agree with the data on which side is the leavers': where they differ
        # (a weak or non-linear effect) neither is a reason to give a person
        if effect.get("direction") != ("raises" if left > stayed else "lowers"):
            continue
        position = (value - stayed) / (left - stayed)
        if position < MIN_POSITION:
            continue
        if name == "trend":
            if value >= 0:  # a steady or rising spend is not shown as a reason to leave
                continue
            phrase = _trend_phrase(value, params.trend_window_days)
        else:
            words = {"value": shown(value), "typical": typical(stayed)}
            phrase = Phrase(_FEATURE_WORDS[name], words)
        strength = importance / top * min(position, 2.0) / 2.0
        drivers.append(Driver(name, strength, phrase))
    return drivers


def _formula_drivers(score: CustomerScore, params: AnalysisParameters) -> list[Driver]:
    """The two parts of ``churn.churn_risk`` without a model: 1 - P(alive), and the share of
    the alive mass a falling trend moves to risk."""
    if score.p_alive is None:
        return []
    p_alive = min(max(score.p_alive, 0.0), 1.0)
    trend = min(max(score.trend or 0.0, -1.0), 1.0)
    unit_days = DAYS_PER_UNIT.get(params.unit, 1)
    drivers = []
    gone = 1 - p_alive
    if gone >= MIN_CONTRIBUTION:
        since = Duration((score.age - score.recency) * unit_days)
        drivers.append(
            Driver("p_alive", gone, Phrase(_P_ALIVE, {"since": since, "p_alive": Percent(p_alive)}))
        )
    falling = p_alive * TREND_WEIGHT * -trend if trend < 0 else 0.0
    if falling >= MIN_CONTRIBUTION:
        drivers.append(Driver("trend", falling, _trend_phrase(trend, params.trend_window_days)))
    return drivers


def churn_drivers(
    score: CustomerScore, report: dict[str, Any] | None, params: AnalysisParameters
) -> list[Driver]:
    """The strongest (at most ``MAX_DRIVERS``) reasons for this customer's churn risk."""
    if score.churn_risk is None:
        return []
    effects = (report or {}).get("effects")
    if isinstance(effects, list) and effects:
        drivers = _model_drivers(score, effects, params)
    else:
        drivers = _formula_drivers(score, params)
    drivers.sort(key=lambda d: (-d.strength, d.feature))
    return drivers[:MAX_DRIVERS]
