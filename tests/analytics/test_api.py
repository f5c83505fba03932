"""The analytics API over stored scores: every figure counts only the customers the caller may
see, runs are listed for everyone with analytics access but their population-wide diagnostics
only for those who see every customer, and bad parameters are refused with problem details.

The scores here are written as a run would write them; ``test_runs.py`` runs real scoring.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.analytics.models import (
    AnalysisRun,
    CustomerRecommendation,
    CustomerScore,
    SimilarCustomer,
)
from guanxi.sales.models import Product
from tests.analytics.scores_support import END, stored_run, stored_score
from tests.conftest import People
from tests.sales.orders_support import customer


def _run(session: Session, **fields: object) -> AnalysisRun:
    values: dict[str, object] = {
        "parameters": {"clv": {"horizon_days": 365}, "churn_high_risk": 0.6},
        "diagnostics": {"bgnbd": {"r": 0.24}, "customer_equity": 1234.5},
    }
    return stored_run(session, **(values | fields))


def _score(session: Session, run: AnalysisRun, customer_id: int, **fields: object) -> None:
    stored_score(session, run, customer_id, **({"next_action": ""} | fields))


@pytest.fixture
def book(session: Session, people: People) -> dict[str, object]:
    """Two reps with a customer base each, an admin, and one scoring run over all of them."""
    east, west = people.team("East"), people.team("West")
    alice, bob = people.user("sales", team=east), people.user("sales", team=west)
    admin = people.user("admin")
    mine = [customer(session, alice.user, f"甲{i}") for i in range(3)]
    theirs = [customer(session, bob.user, f"乙{i}") for i in range(2)]
    run = _run(session)
    _score(session, run, mine[0], tier="vip", profit=Decimal("900.00"), clv=Decimal("5000"))
    _score(session, run, mine[1], tier="key", lifecycle_stage="decline", churn_risk=0.9)
    _score(session, run, mine[2], tier="unprofitable", profit=Decimal("-50.00"))
    for other in theirs:
        _score(session, run, other, tier="vip", profit=Decimal("700.00"), rfm_segment="champions")
    return {
        "alice": people.token(alice),
        "bob": people.token(bob),
        "admin": people.token(admin),
        "alice_user": alice.user,
        "mine": mine,
        "theirs": theirs,
        "run": run,
    }


def _tiers(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    reply = client.get("/api/v1/analytics/tiers", headers=headers)
    assert reply.status_code == 200, reply.text
    return {row["tier"]: row["customers"] for row in reply.json()["tiers"]}


def test_tiers_count_only_the_callers_customers(client: TestClient, book: dict) -> None:
    assert _tiers(client, book["alice"]) == {"vip": 1, "key": 1, "ordinary": 0, "unprofitable": 1}
    assert _tiers(client, book["bob"])["vip"] == 2
    everyone = _tiers(client, book["admin"])
    assert sum(everyone.values()) == 5 and everyone["vip"] == 3


def test_tier_profit_shares_add_up_over_profitable_tiers(client: TestClient, book: dict) -> None:
    rows = client.get("/api/v1/analytics/tiers", headers=book["alice"]).json()["tiers"]
    shares = {row["tier"]: row["profit_share"] for row in rows}
    assert shares["vip"] == pytest.approx(900 / 1000)
    assert shares["key"] == pytest.approx(100 / 1000)


def test_pareto_ranks_the_visible_customers(client: TestClient, book: dict) -> None:
    reply = client.get("/api/v1/analytics/pareto?share=0.34", headers=book["alice"])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["customers"] == 3
    # the top third (one customer) brings 900 of the net 950
    assert body["top_share"] == pytest.approx(900 / 950)
    assert [row["customer_id"] for row in body["top_customers"]] == [book["mine"][0]]
    assert body["top_customers"][0]["name"] == "甲0"
    assert 0 < body["gini"] <= 1
    assert body["curve"][-1]["customer_share"] == pytest.approx(1.0)


def test_pareto_refuses_a_share_outside_zero_to_one(client: TestClient, book: dict) -> None:
    reply = client.get("/api/v1/analytics/pareto?share=1.5", headers=book["admin"])
    assert reply.status_code == 422
    assert reply.headers["content-type"].startswith("application/problem+json")


def test_lifecycle_movements_since_the_previous_run(
    client: TestClient, session: Session, book: dict
) -> None:
    newer = _run(session)
    _score(session, newer, book["mine"][0], lifecycle_stage="decline")
    _score(session, newer, book["theirs"][0], lifecycle_stage="lost")
    body = client.get("/api/v1/analytics/lifecycle", headers=book["alice"]).json()
    assert body["run_id"] == newer.id and body["previous_run_id"] == book["run"].id
    stages = {row["stage"]: row["customers"] for row in body["stages"]}
    assert stages["decline"] == 1 and stages["lost"] == 0  # bob's customer is not alice's
    assert body["movements"] == [
        {
            "from_stage": "stability",
            "to_stage": "decline",
            "customers": 1,
            "link": "/customers?stage_before=stability&stage=decline",
        }
    ]


def test_rfm_segments_and_grid(client: TestClient, book: dict) -> None:
    body = client.get("/api/v1/analytics/rfm", headers=book["bob"]).json()
    segments = {row["segment"]: row["customers"] for row in body["segments"]}
    assert segments["champions"] == 2 and sum(segments.values()) == 2
    assert body["grid"] == [{"r": 3, "f": 3, "customers": 2, "link": "/customers?r=3&f=3"}]


def test_clv_equity_is_the_sum_of_visible_clv(client: TestClient, book: dict) -> None:
    body = client.get("/api/v1/analytics/clv", headers=book["alice"]).json()
    assert body["customer_equity"] == pytest.approx(5400.0)
    assert body["customers"] == 3
    assert sum(row["customers"] for row in body["histogram"]) == 3
    # the models are fitted on every customer: a rep does not see them, the admin does
    assert body["models"] is None
    whole = client.get("/api/v1/analytics/clv", headers=book["admin"]).json()
    assert whole["models"]["bgnbd"] == {"r": 0.24}


def test_churn_groups_and_winback_candidates(client: TestClient, book: dict) -> None:
    body = client.get("/api/v1/analytics/churn", headers=book["alice"]).json()
    by_tier = {row["key"]: row for row in body["by_tier"]}
    assert by_tier["key"]["high_risk"] == 1
    assert [row["customer_id"] for row in body["winback_candidates"]] == [book["mine"][1]]
    assert (
        client.get("/api/v1/analytics/churn", headers=book["bob"]).json()["winback_candidates"]
        == []
    )


def test_recommendations_for_a_visible_customer_only(
    client: TestClient, session: Session, book: dict
) -> None:
    item = Product(sku="REC-1", name="龙井", list_price=Decimal("10"), unit_cost=Decimal("4"))
    session.add(item)
    session.flush()
    run, mine, theirs = book["run"], book["mine"], book["theirs"]
    session.add(
        CustomerRecommendation(
            run_id=run.id, customer_id=mine[0], rank=1, product_id=item.id, score=0.7
        )
    )
    session.add(
        SimilarCustomer(
            run_id=run.id, customer_id=mine[0], other_customer_id=mine[1], similarity=0.5
        )
    )
    session.add(
        SimilarCustomer(
            run_id=run.id, customer_id=mine[0], other_customer_id=theirs[0], similarity=0.9
        )
    )
    session.flush()
    body = client.get(f"/api/v1/analytics/recommendations/{mine[0]}", headers=book["alice"]).json()
    assert [row["sku"] for row in body["products"]] == ["REC-1"]
    # bob's customer is a look-alike, but alice may not see it
    assert [row["customer_id"] for row in body["similar_customers"]] == [mine[1]]
    hidden = client.get(f"/api/v1/analytics/recommendations/{theirs[0]}", headers=book["alice"])
    assert hidden.status_code == 404


def test_runs_show_diagnostics_only_to_those_who_see_everyone(
    client: TestClient, book: dict
) -> None:
    as_admin = client.get("/api/v1/analytics/runs", headers=book["admin"]).json()["items"]
    as_rep = client.get("/api/v1/analytics/runs", headers=book["alice"]).json()["items"]
    assert as_admin[0]["diagnostics"]["customer_equity"] == 1234.5
    assert as_rep[0]["id"] == as_admin[0]["id"] and as_rep[0]["diagnostics"] is None
    one = client.get(f"/api/v1/analytics/runs/{book['run'].id}", headers=book["admin"])
    assert one.json()["status"] == "succeeded"
    assert client.get("/api/v1/analytics/runs/999999", headers=book["admin"]).status_code == 404


def test_readers_need_a_run_first(client: TestClient, people: People) -> None:
    headers = people.token(people.user("analyst"))
    reply = client.get("/api/v1/analytics/tiers", headers=headers)
    assert reply.status_code == 404
    assert "guanxi analyze" in reply.json()["detail"]


def test_a_failed_run_is_not_read(client: TestClient, session: Session, book: dict) -> None:
    failed = _run(session, error="the model did not converge")
    failed.status = "failed"
    session.flush()
    assert client.get("/api/v1/analytics/tiers", headers=book["admin"]).json()["run_id"] == (
        book["run"].id
    )


def test_every_endpoint_needs_a_signed_in_user(client: TestClient) -> None:
    for path in ("tiers", "pareto", "lifecycle", "rfm", "clv", "cohorts", "churn", "runs"):
        reply = client.get(f"/api/v1/analytics/{path}")
        assert reply.status_code == 401, path


def test_starting_a_run_and_changing_parameters_need_rights(
    client: TestClient, people: People, book: dict
) -> None:
    assert client.post("/api/v1/analytics/runs", headers=book["alice"]).status_code == 403
    body = {"tiers": {"vip_share": 0.02}}
    assert (
        client.put("/api/v1/analytics/parameters", json=body, headers=book["alice"]).status_code
        == 403
    )
    analyst = people.token(people.user("analyst"))
    saved = client.put("/api/v1/analytics/parameters", json=body, headers=analyst)
    assert saved.status_code == 200, saved.text
    assert (
        client.get("/api/v1/analytics/parameters", headers=book["alice"]).json()["tiers"][
            "vip_share"
        ]
        == 0.02
    )


@pytest.mark.parametrize(
    "body",
    [{"tiers": {"nonsense": 1}}, {"unit": "month"}, {"clv": {"horizon_days": "long"}}, {"x": 1}],
)
def test_bad_parameters_are_refused_with_problem_details(
    client: TestClient, people: People, body: dict
) -> None:
    analyst = people.token(people.user("analyst"))
    reply = client.put("/api/v1/analytics/parameters", json=body, headers=analyst)
    assert reply.status_code == 422
    assert reply.headers["content-type"].startswith("application/problem+json")


def test_a_second_run_is_refused_while_one_runs(
    client: TestClient, session: Session, people: People, book: dict
) -> None:
    running = _run(session)
    running.status = "running"
    session.flush()
    analyst = people.token(people.user("analyst"))
    reply = client.post("/api/v1/analytics/runs", headers=analyst)
    assert reply.status_code == 409


def test_personal_data_export_includes_the_profiles(session: Session, book: dict) -> None:
    from guanxi.customers import extensions, privacy
    from guanxi.customers.models import Customer

    extensions.load()
    customer = session.get(Customer, book["mine"][0])
    document = privacy.personal_data(session=session, actor=book["alice_user"], customer=customer)
    [profile] = document["analytics_scores"]
    assert profile["observation_end"] == END.isoformat()
    assert (profile["tier"], profile["lifecycle_stage"], profile["clv"]) == (
        "vip",
        "stability",
        "5000.00",
    )


def test_winback_ranks_past_margin_by_the_chance_to_win_back(
    client: TestClient, session: Session, book: dict
) -> None:
    gone = session.get(CustomerScore, (book["run"].id, book["mine"][2]))
    gone.lifecycle_stage, gone.margin, gone.p_alive = "lost", Decimal("500.00"), 0.1
    session.flush()
    body = client.get("/api/v1/analytics/churn", headers=book["alice"]).json()
    ranked = [(row["customer_id"], row["score"]) for row in body["winback_candidates"]]
    # 120 x 0.8 = 96 comes before 500 x 0.1 = 50: a likelier return outranks a bigger past
    assert ranked == [
        (book["mine"][1], pytest.approx(96.0)),
        (book["mine"][2], pytest.approx(50.0)),
    ]
