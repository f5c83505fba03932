"""The work list "dissatisfied VIP and key customers": VIP and key customers (by the latest
scoring run) with a poor survey answer in the last 90 days (CSAT 2 or lower, NPS 6 or lower) or
a complaint open; boundaries included, only the customers the user may see, linked to the
customer and to planning a follow-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.analytics import worklists
from guanxi.db import utcnow
from tests.analytics.scores_support import stored_run, stored_score
from tests.conftest import People, Person
from tests.service_desk import survey_support as support

RECENT = utcnow() - timedelta(days=89)
OLD = utcnow() - timedelta(days=91)


@pytest.fixture
def shop(session: Session, people: People) -> dict[str, object]:
    team = people.team("华东")
    alice = people.user("sales", team=team)
    manager = people.user("manager", team=team)
    bob = people.user("sales")
    admin = people.user("admin")
    owners = {"alice": alice, "bob": bob}
    # name -> (owner, tier in the latest run)
    plan = {
        "vip_csat_2": ("alice", "vip"),
        "key_nps_6": ("alice", "key"),
        "vip_csat_3_nps_7": ("alice", "vip"),
        "vip_poor_long_ago": ("alice", "vip"),
        "key_open_complaint": ("alice", "key"),
        "key_closed_complaint": ("alice", "key"),
        "ordinary_csat_1": ("alice", "ordinary"),
        "bob_vip_csat_1": ("bob", "vip"),
    }
    ids = {
        name: support.customer(session, owners[owner].user, name)
        for name, (owner, _) in plan.items()
    }
    older = stored_run(session)
    stored_score(session, older, ids["ordinary_csat_1"], tier="vip")  # not the latest run
    run = stored_run(session)
    for index, (name, (_, tier)) in enumerate(plan.items()):
        stored_score(session, run, ids[name], tier=tier, clv=100 * (index + 1))

    def answered(name: str, csat: int | None, nps: int | None, when: object = RECENT) -> None:
        ticket = support.ticket(session, ids[name])
        support.survey(session, ticket, csat=csat, nps=nps, sent_at=when)  # type: ignore[arg-type]

    answered("vip_csat_2", 2, None)
    answered("key_nps_6", 5, 6)
    answered("vip_csat_3_nps_7", 3, 7)
    answered("vip_poor_long_ago", 1, 0, OLD)
    answered("ordinary_csat_1", 1, 0)
    answered("bob_vip_csat_1", 1, 2)
    support.ticket(session, ids["key_open_complaint"], kind="complaint", status="waiting")
    support.ticket(session, ids["key_closed_complaint"], kind="complaint", status="closed")
    session.flush()
    return {"ids": ids, "alice": alice, "bob": bob, "manager": manager, "admin": admin}


def _names(shop: dict[str, object], page: worklists.WorklistPage | None) -> list[str]:
    assert page is not None
    by_id = {value: key for key, value in shop["ids"].items()}  # type: ignore[attr-defined]
    return [by_id[row.customer_id] for row in page.rows]


def _list(session: Session, person: object, scope: str = "mine") -> worklists.WorklistPage | None:
    user = person.user  # type: ignore[attr-defined]
    return worklists.worklist(
        session=session,
        actor=user,
        name="dissatisfied",
        scope=worklists.resolve_scope(user, scope),
    )


def test_the_rule_and_its_boundaries(session: Session, shop: dict[str, object]) -> None:
    page = _list(session, shop["alice"])
    # highest CLV first
    assert _names(shop, page) == ["key_open_complaint", "key_nps_6", "vip_csat_2"]
    assert page is not None and page.total == 3 and page.customer_filters is None


def test_only_the_customers_one_may_see(session: Session, shop: dict[str, object]) -> None:
    assert _names(shop, _list(session, shop["bob"])) == ["bob_vip_csat_1"]
    assert _names(shop, _list(session, shop["bob"], "team")) == ["bob_vip_csat_1"]
    assert _names(shop, _list(session, shop["manager"])) == []
    team = _list(session, shop["manager"], "team")
    assert _names(shop, team) == ["key_open_complaint", "key_nps_6", "vip_csat_2"]
    everyone = _list(session, shop["admin"], "team")
    assert set(_names(shop, everyone)) == {
        "key_open_complaint",
        "key_nps_6",
        "vip_csat_2",
        "bob_vip_csat_1",
    }


def test_the_page_links_customer_and_follow_up(
    client: TestClient, shop: dict[str, object], people: People
) -> None:
    alice: Person = shop["alice"]  # type: ignore[assignment]
    ids: dict[str, int] = shop["ids"]  # type: ignore[assignment]
    headers = {**people.token(alice), "Accept-Language": "en"}
    index = client.get("/analytics/worklists", headers=headers)
    assert 'href="/analytics/worklists/dissatisfied"' in index.text
    page = client.get("/analytics/worklists/dissatisfied", headers=headers)
    assert page.status_code == 200
    assert "Dissatisfied VIP and key customers" in page.text
    assert f'href="/customers/{ids["vip_csat_2"]}"' in page.text
    assert f"/interactions/follow-ups/new?customer_id={ids['vip_csat_2']}" in page.text
    assert f'data-customer="{ids["bob_vip_csat_1"]}"' not in page.text
    assert "Open in the customer list" not in page.text
