"""The dashboards' figures under their filters (period, team, region, channel), and the customer
list behind every bar and cell: a drill-down lists exactly the customers the chart counted, for a
rep (their own customers only) as for the admin, on a shop scored by two real runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from guanxi.app import create_app
from guanxi.auth import service as auth_service
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.search import filter_from_query
from tests.analytics.scored_shop import EARLIER_END, ScoredShop, scored
from tests.analytics.store_support import END

__all__ = ["scored"]

SCOPES = (
    {},
    {"region": "华东"},
    {"bought_from": EARLIER_END.isoformat(), "bought_to": END.isoformat()},
    {"channel": "online", "bought_from": "2025-06-01"},
)


@pytest.fixture(scope="module")
def client(scored: ScoredShop) -> Iterator[TestClient]:
    app = create_app(scored.settings, database=scored.db, embedded_worker=False)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def _listed(scored: ScoredShop, username: str, link: str) -> set[int]:
    """The customers the list page behind ``link`` shows ``username``."""
    assert urlsplit(link).path == "/customers"
    spec = filter_from_query(dict(parse_qsl(urlsplit(link).query)))
    with scored.db.sessions() as session:
        actor = auth_service.get_user_by_username(session=session, username=username)
        assert actor is not None
        found: set[int] = set()
        cursor = None
        while True:
            page = customer_service.list_customers(
                session=session, actor=actor, spec=spec, sort=None, limit=500, cursor=cursor
            )
            found |= {customer.id for customer in page.items}
            if not (cursor := page.next_cursor):
                return found


def _elements(client: TestClient, headers: dict[str, str], scope: dict[str, str]) -> list[Any]:
    """(chart, customers counted, link) for every bar and cell of every chart."""

    def get(path: str) -> dict[str, Any]:
        reply = client.get(f"/api/v1/analytics/{path}", params=scope, headers=headers)
        assert reply.status_code == 200, reply.text
        return reply.json()

    found = []
    for row in get("tiers")["tiers"]:
        found.append(("tier", row["customers"], row["link"]))
    for row in get("pareto")["groups"]:
        found.append(("pareto", row["customers"], row["link"]))
    lifecycle = get("lifecycle")
    found += [("stage", row["customers"], row["link"]) for row in lifecycle["stages"]]
    found += [("flow", row["customers"], row["link"]) for row in lifecycle["movements"]]
    rfm = get("rfm")
    found += [("segment", row["customers"], row["link"]) for row in rfm["segments"]]
    found += [("rfm cell", row["customers"], row["link"]) for row in rfm["grid"]]
    found += [("clv", row["customers"], row["link"]) for row in get("clv")["histogram"]]
    churn = get("churn")
    for grouping in ("by_tier", "by_stage", "by_segment"):
        found += [("churn", row["high_risk"], row["link"]) for row in churn[grouping]]
    return found


@pytest.mark.parametrize("scope", SCOPES, ids=["all", "region", "period", "channel"])
@pytest.mark.parametrize("username", ["boss", "rep-a"])
def test_every_bar_leads_to_exactly_the_customers_it_counts(
    scored: ScoredShop, client: TestClient, username: str, scope: dict[str, str]
) -> None:
    elements = _elements(client, scored.tokens[username], scope)
    assert len(elements) > 40
    assert any(count > 0 for chart, count, _ in elements if chart == "flow")
    for chart, count, link in elements:
        assert len(_listed(scored, username, link)) == count, (chart, link)


def test_a_rep_sees_only_their_own_customers_in_every_chart_and_list(
    scored: ScoredShop, client: TestClient
) -> None:
    with scored.db.sessions() as session:
        owners = dict(session.execute(select(Customer.id, Customer.owner_id)).all())
    rep_a = scored.shop.owners["rep-a"]
    mine = {cid for cid, owner in owners.items() if owner == rep_a}
    tiers = client.get("/api/v1/analytics/tiers", headers=scored.tokens["rep-a"]).json()
    everyone = client.get("/api/v1/analytics/tiers", headers=scored.tokens["boss"]).json()
    buyers = set(scored.shop.customers)
    assert sum(row["customers"] for row in tiers["tiers"]) == len(mine & buyers)
    assert sum(row["customers"] for row in everyone["tiers"]) == len(buyers)
    for _, _, link in _elements(client, scored.tokens["rep-a"], {}):
        assert _listed(scored, "rep-a", link) <= mine
    # the same drill-down shows the admin the other rep's customers too
    top = client.get("/api/v1/analytics/pareto", headers=scored.tokens["boss"]).json()
    assert _listed(scored, "boss", top["groups"][0]["link"]) - mine


def test_filters_narrow_every_chart(scored: ScoredShop, client: TestClient) -> None:
    headers = scored.tokens["analyst"]
    whole = client.get("/api/v1/analytics/tiers", headers=headers).json()
    east = client.get("/api/v1/analytics/tiers?region=华东", headers=headers).json()
    team = client.get(f"/api/v1/analytics/tiers?team_id={scored.team_id}", headers=headers).json()
    total = sum(row["customers"] for row in whole["tiers"])
    assert 0 < sum(row["customers"] for row in east["tiers"]) < total
    assert 0 < sum(row["customers"] for row in team["tiers"]) < total
    assert east["tiers"][0]["link"].startswith("/customers?region=")
    pareto = client.get("/api/v1/analytics/pareto?region=华东", headers=headers).json()
    assert pareto["customers"] == sum(row["customers"] for row in east["tiers"])
    assert sum(row["customers"] for row in pareto["groups"]) == pareto["customers"]
    assert _listed(scored, "analyst", pareto["top_link"])


def test_the_period_picks_the_cohorts_and_a_cell_lists_who_came_back(
    scored: ScoredShop, client: TestClient
) -> None:
    headers = scored.tokens["boss"]
    every = client.get("/api/v1/analytics/cohorts", headers=headers).json()["cells"]
    some = client.get(
        "/api/v1/analytics/cohorts?bought_from=2025-03-01&bought_to=2025-05-31", headers=headers
    ).json()["cells"]
    assert {cell["cohort_month"][:7] for cell in some} == {"2025-03", "2025-04", "2025-05"}
    assert len(some) < len(every)
    cell = next(c for c in some if c["months_since"] == 2 and c["customers"] > 0)
    assert len(_listed(scored, "boss", cell["link"])) == cell["customers"]


def test_equity_over_time_has_a_point_per_run(scored: ScoredShop, client: TestClient) -> None:
    body = client.get("/api/v1/analytics/clv", headers=scored.tokens["boss"]).json()
    points = body["equity_over_time"]
    assert [p["observation_end"] for p in points] == [EARLIER_END.isoformat(), END.isoformat()]
    assert points[-1]["customer_equity"] == pytest.approx(body["customer_equity"], abs=0.05)


@pytest.mark.parametrize(
    "query",
    ["bought_from=yesterday", "team_id=zero", "bought_from=2026-05-01&bought_to=2026-01-01"],
)
def test_bad_filters_are_refused_with_problem_details(
    scored: ScoredShop, client: TestClient, query: str
) -> None:
    reply = client.get(f"/api/v1/analytics/tiers?{query}", headers=scored.tokens["boss"])
    assert reply.status_code in (400, 422)
    assert reply.headers["content-type"].startswith("application/problem+json")
