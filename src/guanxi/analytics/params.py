"""The knobs of a scoring run, in one object that is stored with every run.

Defaults come from the issue and the source material; an analyst changes them through
``PUT /api/v1/analytics/parameters`` (kept in the settings store under ``analytics``), and each
run records the values it used so that runs can be compared.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from guanxi.analytics.lifecycle import LifecycleRules
from guanxi.analytics.recommend import RecommendRules
from guanxi.analytics.summary import TimeUnit
from guanxi.analytics.tiers import TierRules

SETTINGS_KEY = "analytics"


@dataclass(frozen=True)
class ClvParameters:
    """How far ahead and how steeply the future is discounted."""

    horizon_days: int = 365
    discount_rate: float = 0.10  # a year's discount rate
    holdout_days: int = 180  # the calibration/holdout split of the model diagnostics


@dataclass(frozen=True)
class AnalysisParameters:
    """Everything a run depends on besides the data."""

    unit: TimeUnit = "day"
    trend_window_days: int = 180
    churn_high_risk: float = 0.6
    churn_window_days: int = 180  # who bought nothing for this long after being active has left
    clv: ClvParameters = field(default_factory=ClvParameters)
    tiers: TierRules = field(default_factory=TierRules)
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)
    recommend: RecommendRules = field(default_factory=RecommendRules)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AnalysisParameters:
        """Parameters from stored JSON; keys it does not know are refused by name (ValueError)."""
        data = dict(data or {})
        nested = {
            "clv": ClvParameters,
            "tiers": TierRules,
            "lifecycle": LifecycleRules,
            "recommend": RecommendRules,
        }
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in nested:
                values[name] = _build(nested[name], value, name)
            elif name in {f.name for f in dataclasses.fields(cls)}:
                values[name] = value
            else:
                raise ValueError(f"unknown analytics parameter {name!r}")
        if values.get("unit", "day") not in ("day", "week"):
            raise ValueError("unit must be day or week")
        return cls(**values)


def _build(kind: type[Any], value: Any, prefix: str) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"{prefix} must be an object")
    defaults = kind()
    known = {f.name for f in dataclasses.fields(kind)}
    values: dict[str, Any] = {}
    for name, item in value.items():
        if name not in known:
            raise ValueError(f"unknown analytics parameter {prefix}.{name}")
        default = getattr(defaults, name)
        if isinstance(default, tuple):
            if not isinstance(item, list | tuple) or not all(isinstance(i, str) for i in item):
                raise ValueError(f"{prefix}.{name} must be a list of names")
            values[name] = tuple(item)
        elif not isinstance(item, int | float) or isinstance(item, bool):
            raise ValueError(f"{prefix}.{name} must be a number")
        else:
            values[name] = item
    return kind(**values)
