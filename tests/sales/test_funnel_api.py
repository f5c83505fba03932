"""The funnel API as its callers meet it: the same known figures through JSON, each role's view
of them, and problem details for bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import People
from tests.sales.funnel_support import Pipeline, build, build_pipeline

PERIOD = {"start": "2026-01-01", "end": "2026-03-31"}


@pytest.fixture
def pipeline(session: Session, people: People) -> Pipeline:
    return build_pipeline(session, people)


def test_funnel_api_answers_the_known_figures(
    client: TestClient, people: People, pipeline: Pipeline
):
    admin = people.token(people.user("admin"))
    reply = client.get("/api/v1/funnel", params=PERIOD, headers=admin)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["created"] == 9
    assert [(s["key"], s["reached"], s["dropped"]) for s in body["stages"]] == [
        ("lead", 9, 3),
        ("qualified", 6, 1),
        ("proposal", 5, 2),
        ("negotiation", 3, 0),
    ]
    assert body["stages"][0]["reached_amount"] == "19750.75"  # Decimal, as text
    assert body["stages"][0]["average_days"] == 2.25
    assert body["won_amount"] == "2750.25" and body["win_rate_closed"] == 0.5

    web = client.get("/api/v1/funnel", params={**PERIOD, "source": "web"}, headers=admin)
    assert web.json()["created"] == 5

    rates = client.get(
        "/api/v1/funnel/win-rates", params={**PERIOD, "by": "source"}, headers=admin
    ).json()
    assert {r["key"]: (r["won"], r["lost"], r["win_rate"]) for r in rates["rows"]} == {
        "web": (3, 2, 0.6),
        "referral": (1, 1, 0.5),
        "phone": (0, 0, None),
    }
    assert rates["total"]["won_amount"] == "3749.25"


def test_forecast_api_counts_from_the_current_month(
    client: TestClient, session: Session, people: People, pipeline: Pipeline
):
    today = datetime.now(UTC).date()
    rep = pipeline.a
    build(
        session,
        owner=rep.user,
        customer_id=pipeline.opportunities[1].customer_id,
        moves=[("proposal", datetime.now(UTC))],
        amount="1000.10",
        probability=35,
        expected_close_date=today,
    )
    session.flush()
    reply = client.get("/api/v1/funnel/forecast", params={"months": 2}, headers=people.token(rep))
    assert reply.status_code == 200, reply.text
    months = reply.json()["months"]
    assert months[0]["month"] == today.replace(day=1).isoformat()
    assert len(months) == 2
    assert (months[0]["count"], months[0]["amount"], months[0]["weighted_amount"]) == (
        1,
        "1000.10",
        "350.0350",
    )
    # another team's manager does not see it
    west_manager = people.user("manager", team=people.team("Far West"))
    theirs = client.get("/api/v1/funnel/forecast", headers=people.token(west_manager)).json()
    assert theirs["count"] == 0


def test_each_role_counts_what_it_may_see(client: TestClient, people: People, pipeline: Pipeline):
    def created(person) -> int:  # type: ignore[no-untyped-def]
        reply = client.get("/api/v1/funnel", params=PERIOD, headers=people.token(person))
        assert reply.status_code == 200, reply.text
        return int(reply.json()["created"])

    assert created(pipeline.a) == 4  # own only
    assert created(pipeline.c) == 2
    assert created(pipeline.east_manager) == 7  # the East team, not West's two
    assert created(people.user("analyst")) == 9  # analysts read every opportunity


@pytest.mark.parametrize("role", ["marketing", "service"])
def test_roles_without_opportunities_are_refused(client: TestClient, people: People, role: str):
    headers = people.token(people.user(role))
    for path in ("/api/v1/funnel", "/api/v1/funnel/win-rates", "/api/v1/funnel/forecast"):
        reply = client.get(path, headers=headers)
        assert reply.status_code == 403, path
        assert reply.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/funnel").status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/funnel", {"start": "2026-13-01"}, "query.start"),
        ("/api/v1/funnel", {"start": "2026-03-31", "end": "2026-01-01"}, "end"),
        ("/api/v1/funnel", {"start": "2020-01-01", "end": "2025-01-01"}, "end"),
        ("/api/v1/funnel/win-rates", {"by": "region"}, "query.by"),
        ("/api/v1/funnel/win-rates", {**PERIOD, "end": "2019-01-01"}, "end"),
        ("/api/v1/funnel/forecast", {"months": "0"}, "query.months"),
        ("/api/v1/funnel/forecast", {"months": "25"}, "query.months"),
    ],
)
def test_bad_input_is_a_422_problem(
    client: TestClient, people: People, path: str, params: dict[str, str], field: str
):
    reply = client.get(path, params=params, headers=people.token(people.user("admin")))
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]


def test_longest_period_is_five_years_less_a_day(client: TestClient, people: People):
    reply = client.get(
        "/api/v1/funnel",
        params={"start": "2021-01-01", "end": date(2025, 12, 31).isoformat()},
        headers=people.token(people.user("admin")),
    )
    assert reply.status_code == 200
    assert reply.json()["created"] == 0
