"""Work lists for staff: who is on "VIP customers at risk", "declining key customers to call" and
"win-back candidates" (boundaries included), whose customers they hold ("mine", or a manager's
team), the pages with their counts, links and follow-up planning, and who may open them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.analytics import customer_reads, worklists
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import RoleCreate
from tests.analytics.scores_support import PARAMETERS, stored_run, stored_score
from tests.conftest import PASSWORD, People, Person
from tests.sales.orders_support import customer
from tests.web.forms import sign_in


@dataclass
class Shop:
    alice: Person
    bob: Person
    manager: Person
    admin: Person
    ids: dict[str, int]


# name -> (owner, score fields in the latest run)
CUSTOMERS: dict[str, tuple[str, dict[str, object]]] = {
    "vip_risky": ("alice", {"tier": "vip", "churn_risk": 0.8, "next_action": "vip_retain"}),
    "vip_edge": ("alice", {"tier": "vip", "churn_risk": 0.6, "next_action": "vip_retain"}),
    "vip_safe": ("alice", {"tier": "vip", "churn_risk": 0.59, "next_action": "vip_defer"}),
    "key_declining": (
        "alice",
        {
            "tier": "key",
            "lifecycle_stage": "decline",
            "clv": Decimal("800.00"),
            "next_action": "key_recover",
        },
    ),
    "key_steady": ("alice", {"tier": "key", "lifecycle_stage": "stability"}),
    "ordinary_declining": ("alice", {"lifecycle_stage": "decline", "next_action": "remind"}),
    "lost_worth_it": (
        "alice",
        {"lifecycle_stage": "lost", "margin": Decimal("500.00"), "p_alive": 0.3},
    ),
    "lost_unreachable": (
        "alice",
        {"lifecycle_stage": "lost", "margin": Decimal("500.00"), "p_alive": 0.01},
    ),
    "lost_no_profit": ("alice", {"lifecycle_stage": "lost", "margin": Decimal("0.00")}),
    "bob_vip": ("bob", {"tier": "vip", "churn_risk": 0.9}),
    "bob_key": ("bob", {"tier": "key", "lifecycle_stage": "decline"}),
}


@pytest.fixture
def shop(session: Session, people: People) -> Shop:
    """Alice of team East and her manager, Bob of team West, an admin, and two runs: the older
    one has Alice's steady key customer declining, which must not count any more."""
    east = people.team("East")
    alice = people.user("sales", team=east)
    manager = people.user("manager", team=east)
    bob = people.user("sales", team=people.team("West"))
    admin = people.user("admin")
    owners = {"alice": alice, "bob": bob}
    ids = {
        name: customer(session, owners[owner].user, name) for name, (owner, _) in CUSTOMERS.items()
    }
    older = stored_run(session)
    stored_score(session, older, ids["key_steady"], tier="key", lifecycle_stage="decline")
    latest = stored_run(session)
    for name, (_, fields) in CUSTOMERS.items():
        stored_score(session, latest, ids[name], **fields)
    return Shop(alice, bob, manager, admin, ids)


def _names(shop: Shop, page: worklists.WorklistPage | None) -> list[str]:
    assert page is not None
    by_id = {value: key for key, value in shop.ids.items()}
    return [by_id[row.customer_id] for row in page.rows]


def _list(session: Session, shop: Shop, person: Person, name: str, scope: str = "mine"):  # type: ignore[no-untyped-def]
    return worklists.worklist(
        session=session,
        actor=person.user,
        name=name,
        scope=worklists.resolve_scope(person.user, scope),
    )


def test_each_list_holds_the_customers_its_rule_names(session: Session, shop: Shop):
    at_risk = _list(session, shop, shop.alice, "vip-at-risk")
    assert _names(shop, at_risk) == ["vip_risky", "vip_edge"]  # riskiest first; 0.6 counts
    assert at_risk.total == 2 and at_risk.high_risk == 0.6
    assert at_risk.rows[0].action_title == "Keep the VIP personally"
    declining = _list(session, shop, shop.alice, "declining-key")
    assert _names(shop, declining) == ["key_declining"]  # not the one declining in the older run
    assert declining.rows[0].clv == Decimal("800.00")
    winback = _list(session, shop, shop.alice, "win-back")
    # past margin x P(alive): 500 x 0.3 = 150 first, then 120 x 0.8 = 96 by customer id
    assert _names(shop, winback) == ["lost_worth_it", "key_declining", "ordinary_declining"]
    counts = worklists.counts(session=session, actor=shop.alice.user, scope="mine")
    assert counts == {"vip-at-risk": 2, "declining-key": 1, "dissatisfied": 0, "win-back": 3}


def test_the_high_risk_threshold_is_the_runs_own(session: Session, shop: Shop):
    stricter = stored_run(session, parameters={**PARAMETERS, "churn_high_risk": 0.75})
    for name, (_, fields) in CUSTOMERS.items():
        stored_score(session, stricter, shop.ids[name], **fields)
    page = _list(session, shop, shop.alice, "vip-at-risk")
    assert _names(shop, page) == ["vip_risky"] and page.high_risk == 0.75


def test_win_back_is_the_rule_the_churn_figures_use(session: Session, shop: Shop):
    ours = _list(session, shop, shop.admin, "win-back", "team")
    theirs = customer_reads.churn(session=session, actor=shop.admin.user, limit=500)
    assert [row.customer_id for row in ours.rows] == [
        row["customer_id"] for row in theirs["winback_candidates"]
    ]


def test_mine_is_what_i_own_and_a_manager_may_switch_to_the_team(session: Session, shop: Shop):
    assert _names(shop, _list(session, shop, shop.bob, "vip-at-risk")) == ["bob_vip"]
    # a sales rep asking for the team still gets their own customers
    assert worklists.resolve_scope(shop.bob.user, "team") == "mine"
    assert _names(shop, _list(session, shop, shop.bob, "declining-key", "team")) == ["bob_key"]
    # the manager owns nobody, and their team is Alice's customers, not Bob's
    assert _list(session, shop, shop.manager, "vip-at-risk").total == 0
    team = _list(session, shop, shop.manager, "vip-at-risk", "team")
    assert _names(shop, team) == ["vip_risky", "vip_edge"]
    everyone = _list(session, shop, shop.admin, "vip-at-risk", "team")
    assert _names(shop, everyone) == ["bob_vip", "vip_risky", "vip_edge"]


def test_before_any_run_the_lists_say_so(session: Session, people: People):
    rep = people.user("sales")
    assert worklists.counts(session=session, actor=rep.user, scope="mine") is None
    assert (
        worklists.worklist(session=session, actor=rep.user, name="win-back", scope="mine") is None
    )


# ---------------------------------------------------------------- pages


def _open(client: TestClient, person: Person, path: str):  # type: ignore[no-untyped-def]
    sign_in(client, person.username, PASSWORD)
    return client.get(path)


def _counts(page: str) -> dict[str, str]:
    found = re.findall(r'data-worklist="([^"]+)".*?data-count>([^<]+)<', page, re.S)
    return dict(found)


def test_the_index_counts_each_list(client: TestClient, shop: Shop):
    page = _open(client, shop.alice, "/analytics/worklists")
    assert page.status_code == 200
    assert _counts(page.text) == {
        "vip-at-risk": "2",
        "declining-key": "1",
        "dissatisfied": "0",
        "win-back": "3",
    }
    assert "My team&#39;s customers" not in page.text  # nothing to switch to for a rep
    assert 'href="/analytics/runs"' in page.text


def test_a_manager_switches_between_mine_and_the_team(client: TestClient, shop: Shop):
    mine = _open(client, shop.manager, "/analytics/worklists")
    assert _counts(mine.text) == {
        "vip-at-risk": "0",
        "declining-key": "0",
        "dissatisfied": "0",
        "win-back": "0",
    }
    assert 'href="/analytics/worklists?scope=team"' in mine.text
    team = client.get("/analytics/worklists?scope=team")
    assert _counts(team.text) == {
        "vip-at-risk": "2",
        "declining-key": "1",
        "dissatisfied": "0",
        "win-back": "3",
    }
    assert 'href="/analytics/worklists/vip-at-risk?scope=team"' in team.text
    assert client.get("/analytics/worklists?scope=everyone").status_code == 422


def test_a_list_links_each_customer_and_plans_a_follow_up(client: TestClient, shop: Shop):
    page = _open(client, shop.alice, "/analytics/worklists/vip-at-risk")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-customer="(\d+)">(.*?)</tr>', page.text, re.S)
    assert [int(customer_id) for customer_id, _ in rows] == [
        shop.ids["vip_risky"],
        shop.ids["vip_edge"],
    ]
    first = rows[0][1]
    assert f'href="/customers/{shop.ids["vip_risky"]}">vip_risky</a>' in first
    for shown in ("VIP (deferential)", "Stability", "80%", "2026-06-01", "CN¥200.00"):
        assert shown in first
    assert "Keep the VIP personally" in first
    link = re.search(r'href="(/interactions/follow-ups/new\?[^"]+)"', first)
    assert link
    query = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)
    assert query == {
        "customer_id": [str(shop.ids["vip_risky"])],
        "subject": ["Keep the VIP personally"],
    }
    assert client.get(link.group(1).replace("&amp;", "&")).status_code == 200
    listing = re.search(r'href="(/customers\?[^"]+)"', page.text)
    assert listing and "tier=vip" in listing.group(1) and "churn_risk_min=0.6" in listing.group(1)
    assert f"owner_id={shop.alice.user.id}" in listing.group(1)
    assert client.get("/analytics/worklists/no-such-list").status_code == 404


def test_roles_without_follow_ups_see_no_planning_link(
    client: TestClient, session: Session, shop: Shop, people: People
):
    analyst = people.user("analyst")  # reads interactions but does not create them
    page = _open(client, analyst, "/analytics/worklists/win-back?scope=team")
    assert page.status_code == 200
    assert "lost_worth_it" in page.text and "Plan a follow-up" not in page.text


def test_a_role_without_analytics_gets_403(client: TestClient, session: Session, people: People):
    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="customer_viewer",
            label="Customer viewer",
            record_scope="all",
            permissions={"customers": ["read"]},
        ),
    )
    viewer = people.user("customer_viewer")
    sign_in(client, viewer.username, PASSWORD)
    for path in ("/analytics/worklists", "/analytics/worklists/win-back"):
        assert client.get(path).status_code == 403


def test_the_pages_before_any_run(client: TestClient, people: People):
    page = _open(client, people.user("sales"), "/analytics/worklists/declining-key")
    assert page.status_code == 200
    assert "No scoring run has finished yet" in page.text
