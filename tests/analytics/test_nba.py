"""Next best action: the table covers every tier x stage x risk, the material's strategies land
where it says, and the vectorised lookup agrees with the table."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from guanxi.analytics import lifecycle, nba


def test_every_combination_has_exactly_one_known_action() -> None:
    combinations = set(itertools.product(nba.TIER_KEYS, nba.STAGE_KEYS, (False, True)))
    assert set(nba.ACTION_TABLE) == combinations
    assert set(nba.ACTION_TABLE.values()) <= set(nba.ACTIONS)
    assert set(nba.ACTION_TABLE.values()) == set(nba.ACTIONS)  # no action without a use
    assert tuple(lifecycle.STAGES) == nba.STAGE_KEYS
    table = nba.action_table()
    assert len(table) == 4 * 6 * 2
    assert not table.duplicated(["tier", "stage", "high_risk"]).any()


def test_the_materials_strategies() -> None:
    def action(tier: str, stage: str, risk: float) -> str:
        return str(nba.next_best_action([tier], [stage], [risk])[0])

    assert action("vip", "stability", 0.1) == "vip_defer"
    assert nba.ACTIONS["vip_defer"][1].startswith("Give the VIP priority service")
    assert action("vip", "stability", 0.9) == "vip_retain"
    assert action("vip", "decline", 0.1) == "vip_recover"  # valuable: recover
    assert action("key", "formation", 0.1) == "key_care"
    assert action("key", "decline", 0.2) == "key_recover"
    assert nba.ACTIONS["key_recover"][1].startswith("Care: call to find out what changed")
    assert action("ordinary", "stability", 0.1) == "maintain"  # serve with existing products
    assert action("ordinary", "decline", 0.9) == "winback_cheaply"  # let go or win back cheaply
    assert action("ordinary", "decline", 0.3) == "recover_cheaply"
    assert action("unprofitable", "stability", 0.9) == "serve_low_cost"  # spend nothing extra
    assert action("unprofitable", "lost", 0.9) == "let_go"
    assert action("vip", "prospect", 0.0) == "acquire"


def test_vectorised_lookup_matches_the_table_and_edges() -> None:
    keys = list(nba.ACTION_TABLE)
    tiers = [k[0] for k in keys]
    stages = [k[1] for k in keys]
    risks = [0.6 if k[2] else 0.5999 for k in keys]  # the threshold itself is high
    actions = nba.next_best_action(tiers, stages, np.array(risks))
    assert actions.tolist() == [nba.ACTION_TABLE[k] for k in keys]
    # an untiered customer is served as ordinary; a missing risk is not high
    assert nba.next_best_action([None], ["formation"], [np.nan]).tolist() == ["develop"]
    assert nba.next_best_action(["key"], ["stability"]).tolist() == ["key_grow"]
    assert nba.next_best_action(["key"], ["stability"], [0.7], high_risk=0.8).tolist() == [
        "key_grow"
    ]
    with pytest.raises(ValueError, match="unknown lifecycle stage 'dormant'"):
        nba.next_best_action(["vip"], ["dormant"])
    with pytest.raises(ValueError, match="same length"):
        nba.next_best_action(["vip", "key"], ["lost"])


def test_a_million_customers_quickly() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    tiers = rng.choice(np.array(nba.TIER_KEYS, dtype=object), n)
    stages = rng.choice(np.array(nba.STAGE_KEYS, dtype=object), n)
    started = time.perf_counter()
    actions = nba.next_best_action(tiers, stages, rng.random(n))
    assert time.perf_counter() - started < 2.0
    assert len(actions) == n and set(actions) == set(nba.ACTIONS)
