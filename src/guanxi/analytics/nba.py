"""The next best action per customer from value tier x lifecycle stage x churn risk, with the
strategies the material gives: defer to 屈从型 VIPs, care for 关怀型 key customers, serve 适应型
ordinary customers with existing products, spend nothing extra on 冷漠型 unprofitable ones, and for
declining relationships recover the valuable ones and let the others go (客户的挽回 for those worth
winning back).

Every tier x stage x risk (high or not) combination has exactly one action (``ACTION_TABLE``);
``action_table()`` lists it for the documentation and the dashboards.

References
----------
Dwyer, F. R., Schurr, P. H. and Oh, S. (1987). Developing buyer-seller relationships. *Journal of
Marketing* 51(2), 11-27.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from guanxi.errors import N_

TIER_KEYS: tuple[str, ...] = ("vip", "key", "ordinary", "unprofitable")
"""The value tiers (``tiers``): 屈从型 VIP, 关怀型 key, 适应型 ordinary, 冷漠型 unprofitable."""
STAGE_KEYS: tuple[str, ...] = (
    "prospect",
    "exploration",
    "formation",
    "stability",
    "decline",
    "lost",
)
"""The lifecycle stages (``lifecycle.STAGES``), in order."""

ACTIONS: dict[str, tuple[str, str]] = {
    "acquire": (
        N_("Win the first order"),
        N_("Qualify the prospect, learn what they need and make a first offer that fits it."),
    ),
    "welcome": (
        N_("Welcome and earn trust"),
        N_(
            "The customer is testing the relationship: deliver the first orders flawlessly, "
            "follow up after delivery and introduce the products that fit their needs."
        ),
    ),
    "second_purchase": (
        N_("Secure the second purchase"),
        N_(
            "Contact them soon after the first order, solve any problem with it and give them a "
            "reason to come back."
        ),
    ),
    "vip_defer": (
        N_("Defer to the VIP"),
        N_(
            "Give the VIP priority service and a personal manager, anticipate their needs and "
            "lock in loyalty with exclusive benefits."
        ),
    ),
    "vip_retain": (
        N_("Keep the VIP personally"),
        N_(
            "A senior manager calls to learn what is wrong, fixes it at once and offers "
            "something tailored to keep them."
        ),
    ),
    "vip_recover": (
        N_("Recover the VIP"),
        N_(
            "Find out why the relationship is declining, fix the cause and make a personal "
            "offer to restore it; a named manager owns the follow-up until it recovers."
        ),
    ),
    "vip_winback": (
        N_("Win back the former VIP"),
        N_(
            "Reach out personally, ask why they left, put right what went wrong and make a "
            "substantial offer to return."
        ),
    ),
    "key_care": (
        N_("Care for the key customer"),
        N_(
            "Stay in regular touch, track their needs and offer the products that grow the "
            "relationship."
        ),
    ),
    "key_grow": (
        N_("Grow the key customer"),
        N_(
            "Keep in regular contact, cross-sell related products and consider whether they "
            "deserve VIP treatment."
        ),
    ),
    "key_recover": (
        N_("Find out what changed"),
        N_(
            "Care: call to find out what changed and offer help, then fix the cause; the "
            "relationship is worth recovering."
        ),
    ),
    "key_winback": (
        N_("Win back the key customer"),
        N_("Contact them with a personal offer to come back and ask why they left."),
    ),
    "develop": (
        N_("Develop the relationship"),
        N_(
            "Serve with existing products, recommend what similar customers buy and encourage "
            "repeat purchases."
        ),
    ),
    "maintain": (
        N_("Serve with existing products"),
        N_(
            "Keep serving well with the standard products and service, with automated, "
            "low-cost contact."
        ),
    ),
    "remind": (
        N_("Send a low-cost reminder"),
        N_("Send a reminder or a modest offer through the channel they usually buy from."),
    ),
    "recover_cheaply": (
        N_("Try to recover at low cost"),
        N_(
            "Send a targeted offer through their usual channel; if they do not respond, let the "
            "relationship go."
        ),
    ),
    "winback_cheaply": (
        N_("Let go or win back cheaply"),
        N_(
            "Spend on winning them back only through low-cost automated offers; otherwise let "
            "the relationship end."
        ),
    ),
    "serve_low_cost": (
        N_("Serve at lower cost"),
        N_(
            "Spend nothing extra: move them to self-service and low-cost channels, and review "
            "the prices or terms that make them unprofitable."
        ),
    ),
    "let_go": (
        N_("Let the relationship go"),
        N_(
            "Spend nothing on recovery; keep self-service open in case they come back on their own."
        ),
    ),
}
"""Action key -> (English title msgid, English strategy msgid)."""


def _action(tier: str, stage: str, high_risk: bool) -> str:
    """The strategy for one combination; the table below is built from this."""
    if stage == "prospect":
        return "acquire"
    if tier == "unprofitable":
        return "let_go" if stage in ("decline", "lost") else "serve_low_cost"
    if tier == "vip":
        if stage == "lost":
            return "vip_winback"
        if stage == "decline":
            return "vip_recover"
        return "vip_retain" if high_risk else "vip_defer"
    if tier == "key":
        if stage == "lost":
            return "key_winback"
        if stage == "decline" or high_risk:
            return "key_recover"
        return "key_grow" if stage == "stability" else "key_care"
    # ordinary
    if stage == "exploration":
        return "second_purchase" if high_risk else "welcome"
    if stage == "lost":
        return "winback_cheaply"
    if stage == "decline":
        return "winback_cheaply" if high_risk else "recover_cheaply"
    if high_risk:
        return "remind"
    return "maintain" if stage == "stability" else "develop"


ACTION_TABLE: dict[tuple[str, str, bool], str] = {
    (tier, stage, high): _action(tier, stage, high)
    for tier in TIER_KEYS
    for stage in STAGE_KEYS
    for high in (False, True)
}
"""(tier, stage, high churn risk) -> action key, for every combination."""

_ACTION_KEYS = np.array(list(ACTIONS), dtype=object)
_LOOKUP = np.array(
    [
        [[list(ACTIONS).index(ACTION_TABLE[(t, s, h)]) for h in (False, True)] for s in STAGE_KEYS]
        for t in TIER_KEYS
    ],
    dtype=np.int64,
)


def next_best_action(
    tier: Any, stage: Any, churn_risk: Any = None, *, high_risk: float = 0.6
) -> np.ndarray:
    """The action key for each customer, as a NumPy object array.

    ``tier`` holds ``TIER_KEYS`` (an unknown or missing tier, e.g. a prospect never tiered, is
    served as ordinary), ``stage`` holds ``STAGE_KEYS`` (anything else is refused), and
    ``churn_risk`` the risk in [0, 1]; at or above ``high_risk`` it counts as high (a missing risk
    does not). Vectorised: a lookup in the precomputed table.
    """
    stage_values = np.asarray(stage, dtype=object)
    stage_codes = _codes(stage_values, STAGE_KEYS)
    if (stage_codes < 0).any():
        raise ValueError(f"unknown lifecycle stage {stage_values[stage_codes < 0][0]!r}")
    tier_codes = _codes(np.asarray(tier, dtype=object), TIER_KEYS)
    if tier_codes.shape != stage_codes.shape:
        raise ValueError("tier and stage must have the same length")
    tier_codes = np.where(tier_codes < 0, TIER_KEYS.index("ordinary"), tier_codes)
    if churn_risk is None:
        high = np.zeros(stage_codes.shape, dtype=np.int64)
    else:
        risk = np.asarray(churn_risk, dtype=np.float64)
        if risk.shape != stage_codes.shape:
            raise ValueError("churn_risk must have one value per customer")
        with np.errstate(invalid="ignore"):
            high = (risk >= high_risk).astype(np.int64)
    return _ACTION_KEYS[_LOOKUP[tier_codes, stage_codes, high]]


def _codes(values: np.ndarray, keys: tuple[str, ...]) -> np.ndarray:
    """Position of each value in ``keys`` (-1 if absent); factorising first hashes each distinct
    value once, which is several times faster than a categorical over a million strings."""
    codes, uniques = pd.factorize(values)
    positions = np.array([keys.index(u) if u in keys else -1 for u in uniques] + [-1])
    return np.asarray(positions[codes])  # factorize gives -1 for missing: the trailing -1


def action_table() -> pd.DataFrame:
    """Every tier x stage x risk combination with its action key and English title."""
    rows = [
        (tier, stage, high, key, ACTIONS[key][0])
        for (tier, stage, high), key in ACTION_TABLE.items()
    ]
    return pd.DataFrame(rows, columns=["tier", "stage", "high_risk", "action", "title"])
