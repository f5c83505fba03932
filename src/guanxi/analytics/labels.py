"""The display order and English names (msgids, translated where shown) of tiers, lifecycle
stages, RFM segments and next best actions, gathered from the modules that define them."""

from __future__ import annotations

from guanxi.analytics.lifecycle import STAGES
from guanxi.analytics.nba import ACTIONS
from guanxi.analytics.rfm import SEGMENTS
from guanxi.analytics.tiers import TIERS

TIER_ORDER: tuple[str, ...] = tuple(TIERS)
STAGE_ORDER: tuple[str, ...] = tuple(STAGES)
SEGMENT_ORDER: tuple[str, ...] = tuple(SEGMENTS)


def _name(entry: object) -> str:
    return entry[0] if isinstance(entry, tuple) else str(entry)


def tier_label(key: str) -> str:
    return _name(TIERS[key]) if key in TIERS else key


def stage_label(key: str) -> str:
    return _name(STAGES[key]) if key in STAGES else key


def segment_label(key: str) -> str:
    return _name(SEGMENTS[key]) if key in SEGMENTS else key


def action_label(key: str) -> str:
    return _name(ACTIONS[key]) if key in ACTIONS else key
