"""/api/v1/surveys: the list and one survey for the tickets the caller sees, and the summary of
CSAT and NPS by tier, lifecycle stage and saved segment, worked out by hand below.

alice's customers: 甲 (VIP, in 上海) answered 5/10, 4/9 and 2/3, and has one survey unanswered;
乙 (key by its current tier, declining) answered 1/6. bob's customer 丙 (ordinary) answered 3/8,
and 100 days ago 5/10.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.db import utcnow
from guanxi.marketing.segments import service as segment_service
from guanxi.marketing.segments.schemas import SegmentCreate
from tests.conftest import People
from tests.service_desk import survey_support as support


@dataclass
class Answers:
    headers: dict[str, dict[str, str]]
    customers: dict[str, int]
    surveys: dict[str, int]
    segment_id: int


@pytest.fixture
def answers(session: Session, people: People) -> Answers:
    alice, bob = people.user("sales"), people.user("sales")
    admin, analyst = people.user("admin"), people.user("analyst")
    jia = support.customer(session, alice.user, "甲", city="上海")
    yi = support.customer(session, alice.user, "乙", value_tier="key", lifecycle_stage="decline")
    bing = support.customer(session, bob.user, "丙", value_tier="ordinary")
    surveys: dict[str, int] = {}
    for name, customer_id, tier, csat, nps in [
        ("jia-1", jia, "vip", 5, 10),
        ("jia-2", jia, "vip", 4, 9),
        ("jia-3", jia, "vip", 2, 3),
        ("jia-open", jia, "vip", None, None),
        ("yi", yi, None, 1, 6),
        ("bing", bing, "ordinary", 3, 8),
    ]:
        ticket = support.ticket(session, customer_id, tier=tier)
        surveys[name] = support.survey(session, ticket, csat=csat, nps=nps).id
    old = utcnow() - timedelta(days=100)
    ticket = support.ticket(session, bing, tier="ordinary")
    surveys["bing-old"] = support.survey(session, ticket, csat=5, nps=10, sent_at=old).id
    segment = segment_service.create(
        session=session,
        actor=admin.user,
        segment_in=SegmentCreate(name="上海客户", params=[["city", "上海"]]),
    )
    session.flush()
    return Answers(
        headers={
            "alice": people.token(alice),
            "bob": people.token(bob),
            "admin": people.token(admin),
            "analyst": people.token(analyst),
        },
        customers={"jia": jia, "yi": yi, "bing": bing},
        surveys=surveys,
        segment_id=segment.id,
    )


def _by_key(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["key"]: row for row in rows}


def test_summary_by_tier_on_known_answers(client: TestClient, answers: Answers) -> None:
    body = client.get(
        "/api/v1/surveys/summary", params={"period": "90d"}, headers=answers.headers["admin"]
    ).json()
    overall = body["overall"]
    # 5, 4, 2, 1, 3: mean 3; NPS 10, 9 promote, 3 and 6 detract, 8 is passive: (2 - 2) / 5
    assert (overall["answered"], overall["csat_mean"], overall["nps"]) == (5, 3.0, 0.0)
    tiers = _by_key(body["by_tier"])
    assert list(tiers) == ["vip", "key", "ordinary"]
    assert tiers["vip"]["answered"] == 3 and tiers["vip"]["csat_mean"] == 3.67
    assert (tiers["vip"]["promoters"], tiers["vip"]["detractors"]) == (2, 1)
    assert tiers["vip"]["nps"] == 33.3
    assert (tiers["key"]["csat_mean"], tiers["key"]["nps"]) == (1.0, -100.0)
    assert (tiers["ordinary"]["nps"], tiers["ordinary"]["passives"]) == (0.0, 1)
    stages = _by_key(body["by_lifecycle"])
    assert stages["decline"]["answered"] == 1 and stages[""]["answered"] == 4
    [segment] = body["by_segment"]
    assert (segment["segment_id"], segment["answered"]) == (answers.segment_id, 3)
    assert segment["nps"] == 33.3

    everything = client.get("/api/v1/surveys/summary", headers=answers.headers["admin"]).json()
    assert everything["overall"]["answered"] == 6
    assert _by_key(everything["by_tier"])["ordinary"]["nps"] == 50.0


def test_summary_counts_only_visible_tickets(client: TestClient, answers: Answers) -> None:
    alice = client.get("/api/v1/surveys/summary", headers=answers.headers["alice"]).json()
    assert alice["overall"]["answered"] == 4
    assert "ordinary" not in _by_key(alice["by_tier"])
    bob = client.get("/api/v1/surveys/summary", headers=answers.headers["bob"]).json()
    assert bob["overall"]["answered"] == 2
    assert bob["by_segment"][0]["answered"] == 0 and bob["by_segment"][0]["nps"] is None


def test_list_filters_and_visibility(client: TestClient, answers: Answers) -> None:
    def ids(who: str, **params: object) -> set[int]:
        response = client.get("/api/v1/surveys", params=params, headers=answers.headers[who])
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    named = {value: key for key, value in answers.surveys.items()}
    assert {named[i] for i in ids("alice")} == {"jia-1", "jia-2", "jia-3", "jia-open", "yi"}
    assert {named[i] for i in ids("alice", answered="false")} == {"jia-open"}
    assert {named[i] for i in ids("admin", customer_id=answers.customers["bing"])} == {
        "bing",
        "bing-old",
    }
    assert {
        named[i] for i in ids("analyst", customer_id=answers.customers["bing"], period="30d")
    } == {"bing"}
    assert ids("alice", customer_id=answers.customers["bing"]) == set()

    mine = client.get(f"/api/v1/surveys/{answers.surveys['yi']}", headers=answers.headers["alice"])
    assert mine.status_code == 200 and mine.json()["csat"] == 1
    theirs = client.get(
        f"/api/v1/surveys/{answers.surveys['bing']}", headers=answers.headers["alice"]
    )
    assert theirs.status_code == 404
    assert theirs.headers["content-type"].startswith("application/problem+json")


def test_paging(client: TestClient, answers: Answers) -> None:
    first = client.get("/api/v1/surveys", params={"limit": 4}, headers=answers.headers["admin"])
    body = first.json()
    assert len(body["items"]) == 4 and body["next_cursor"]
    rest = client.get(
        "/api/v1/surveys",
        params={"limit": 4, "cursor": body["next_cursor"]},
        headers=answers.headers["admin"],
    ).json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None


@pytest.mark.parametrize("period", ["lately", "0d", "2026-13", "99999d1"])
def test_bad_period_is_422_naming_it(client: TestClient, answers: Answers, period: str) -> None:
    response = client.get(
        "/api/v1/surveys/summary", params={"period": period}, headers=answers.headers["admin"]
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "period"


def test_signed_out_and_roles(client: TestClient, answers: Answers, people: People) -> None:
    assert client.get("/api/v1/surveys").status_code == 401
    marketing = people.token(people.user("marketing"))  # no tickets:read
    assert client.get("/api/v1/surveys/summary", headers=marketing).status_code == 403
