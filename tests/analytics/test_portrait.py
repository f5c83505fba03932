"""The customer portrait (客户画像) on the 360 page: a scored customer's tier, stage history, models
explained in words, churn drivers, recommendations, look-alikes the viewer may see and the next
best action with a link that plans the follow-up; the "not scored yet" states; the panel only for
users with analytics access; zh-CN and en. Scores are written as a run writes them; the last test
scores a real shop on the store.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi import schema
from guanxi.analytics import nba, runs
from guanxi.analytics.models import (
    AnalysisReport,
    AnalysisRun,
    CustomerRecommendation,
    SimilarCustomer,
)
from guanxi.analytics.portrait import portrait
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import RoleCreate
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.errors import NotFound
from tests.analytics.portrait_support import churn_report, render, scoring_run, write_score
from tests.analytics.store_support import END as SHOP_END
from tests.analytics.store_support import seed_shop
from tests.conftest import PASSWORD, TEST_SECRET, People
from tests.sales.orders_support import customer, product
from tests.web.forms import sign_in


@pytest.fixture
def book(session: Session, people: People) -> dict[str, object]:
    """Two reps with customers, a manager over both teams, and one run."""
    head = people.team("Head")
    east, west = people.team("East", parent=head), people.team("West", parent=head)
    alice, bob = people.user("sales", team=east), people.user("sales", team=west)
    manager = people.user("manager", team=head)
    mine = [customer(session, alice.user, f"甲{i}") for i in range(3)]
    theirs = customer(session, bob.user, "乙0")
    return {
        "alice": alice,
        "bob": bob,
        "manager": manager,
        "mine": mine,
        "theirs": theirs,
    }


# ---------------------------------------------------------------- the service


def test_a_scored_customer_has_every_figure_explained_in_words(
    session: Session, book: dict
) -> None:
    run = scoring_run(session)
    write_score(session, run, book["mine"][0])
    shown = portrait(session=session, actor=book["alice"].user, customer_id=book["mine"][0])
    assert shown.scored and shown.run_id == run.id
    assert shown.tier == "vip" and shown.tier_label == "VIP (deferential)"
    assert shown.stage_label == "Stability" and shown.stage_focus
    assert (shown.r_score, shown.f_score, shown.m_score) == (4, 5, 5)
    assert shown.segment_label == "Champions"
    assert shown.p_alive == pytest.approx(0.82) and shown.clv == Decimal("3400.00")
    assert shown.action is not None and shown.action.title == "Defer to the VIP"
    words = render(shown.explanation, "en")
    assert "Bought 7 times on 6 days over 16 months, the last 45 days ago." in words
    assert "still a customer at 82% and expects 2.1 purchases in the next 365 days" in words
    assert "CN¥480 per purchase and a margin of 40%" in words
    assert "(CLV) of CN¥3,400, discounted at 10% a year." in words
    chinese = render(shown.explanation, "zh_CN")
    assert "16个月内分6天共购买7次，最近一次在45天前。" in chinese
    assert "概率为82%，预计未来365天内购买2.1次" in chinese
    assert "¥3,400" in chinese and "{" not in chinese


@pytest.mark.parametrize(
    ("orders", "frequency", "recency", "age", "expected"),
    [
        (1, 0, 0.0, 0.0, "Bought once, less than a day ago."),
        (3, 0, 0.0, 40.0, "Placed 3 orders on a single day, 40 days ago."),
        (2, 1, 364.0, 1100.0, "Bought 2 times over 3 years, the last 2 years ago."),
    ],
)
def test_purchase_history_in_words_at_the_edges(
    session: Session,
    book: dict,
    orders: int,
    frequency: int,
    recency: float,
    age: float,
    expected: str,
) -> None:
    run = scoring_run(session)
    write_score(
        session, run, book["mine"][0], orders=orders, frequency=frequency, recency=recency, age=age
    )
    shown = portrait(session=session, actor=book["alice"].user, customer_id=book["mine"][0])
    assert render(shown.explanation[:1], "en") == expected


def test_stage_history_across_kept_runs_says_when_it_moved(session: Session, book: dict) -> None:
    target = book["mine"][0]
    stages = ("exploration", "formation", "formation", "decline")
    failed = AnalysisRun(status="failed", observation_end=dt.date(2026, 8, 1))
    session.add(failed)
    session.flush()
    write_score(session, failed, target, lifecycle_stage="lost")  # a failed run is never read
    for month, stage in zip((5, 7, 9, 11), stages, strict=True):
        write_score(
            session, scoring_run(session, dt.date(2026, month, 1)), target, lifecycle_stage=stage
        )
    shown = portrait(session=session, actor=book["alice"].user, customer_id=target)
    assert [p.stage for p in shown.history] == list(stages)
    assert [p.moved for p in shown.history] == [False, True, False, True]
    assert [(s.stage, s.start, s.end, s.runs) for s in shown.spans] == [
        ("exploration", dt.date(2026, 5, 1), dt.date(2026, 5, 1), 1),
        ("formation", dt.date(2026, 7, 1), dt.date(2026, 9, 1), 2),
        ("decline", dt.date(2026, 11, 1), dt.date(2026, 11, 1), 1),
    ]
    assert shown.stage == "decline"


def test_churn_drivers_are_the_models_features_on_the_leavers_side(
    session: Session, book: dict
) -> None:
    run = scoring_run(session)
    churn_report(session, run)
    # no repeat purchase (the leavers averaged 1, the stayers 4), 150 days since the last one
    # (leavers 200, stayers 60), a customer for 800 days (leavers 400, but the model disagrees)
    write_score(
        session,
        run,
        book["mine"][0],
        frequency=0,
        recency=650.0,
        age=800.0,
        revenue=Decimal("50.00"),
        churn_risk=0.7,
    )
    shown = portrait(session=session, actor=book["alice"].user, customer_id=book["mine"][0])
    assert [d.feature for d in shown.drivers] == ["frequency", "days_since_last"]
    assert shown.drivers[0].strength > shown.drivers[1].strength
    assert shown.high_risk
    words = [d.phrase.render("CNY") for d in shown.drivers]
    assert words[0] == "Repeat purchases: 0; customers who stayed averaged 4.0."
    assert words[1] == "5 months since the last purchase; customers who stayed averaged 2 months."


def test_a_customer_on_the_stayers_side_has_no_drivers(session: Session, book: dict) -> None:
    run = scoring_run(session)
    churn_report(session, run)
    write_score(session, run, book["mine"][0], frequency=6, recency=790.0, age=800.0)
    shown = portrait(session=session, actor=book["alice"].user, customer_id=book["mine"][0])
    assert shown.drivers == [] and not shown.high_risk


def test_without_a_churn_model_the_drivers_are_the_risk_formulas_parts(
    session: Session, book: dict
) -> None:
    run = scoring_run(session)
    session.add(AnalysisReport(run_id=run.id, name="churn", payload={"rows": {"skipped": "few"}}))
    write_score(session, run, book["mine"][0], p_alive=0.3, trend=-1.0, churn_risk=0.85)
    write_score(session, run, book["mine"][1], p_alive=0.98, trend=0.2, churn_risk=0.02)
    shown = portrait(session=session, actor=book["alice"].user, customer_id=book["mine"][0])
    assert [d.feature for d in shown.drivers] == ["p_alive", "trend"]
    words = render([d.phrase for d in shown.drivers], "en")
    assert "leaves a 30% chance that they are still a customer" in words
    assert "Bought nothing in the last 180 days, after buying in the 180 days before." in words
    steady = portrait(session=session, actor=book["alice"].user, customer_id=book["mine"][1])
    assert steady.drivers == []


def test_not_scored_yet_states_are_never_errors(session: Session, book: dict) -> None:
    alice = book["alice"].user
    assert portrait(session=session, actor=alice, customer_id=book["mine"][0]).state == "no_run"
    run = scoring_run(session)
    write_score(
        session,
        run,
        book["mine"][1],
        first_purchase=None,
        last_purchase=None,
        orders=0,
        frequency=0,
        tier="",
        rfm_segment="",
        p_alive=None,
        expected_purchases=None,
        expected_spend=None,
        clv=None,
        churn_risk=None,
        lifecycle_stage="prospect",
        next_action="",
    )
    added_since = portrait(session=session, actor=alice, customer_id=book["mine"][0])
    assert added_since.state == "not_scored" and added_since.action is None
    prospect = portrait(session=session, actor=alice, customer_id=book["mine"][1])
    assert prospect.state == "prospect" and not prospect.scored
    assert prospect.explanation == [] and prospect.drivers == []
    # the next best action for a prospect comes from the table when the row has none
    assert prospect.action is not None and prospect.action.key == "acquire"


def test_a_customer_the_viewer_may_not_see_has_no_portrait(session: Session, book: dict) -> None:
    write_score(session, scoring_run(session), book["theirs"])
    with pytest.raises(NotFound):
        portrait(session=session, actor=book["alice"].user, customer_id=book["theirs"])


def test_recommendations_and_only_visible_look_alikes(session: Session, book: dict) -> None:
    run = scoring_run(session)
    target, sibling = book["mine"][0], book["mine"][1]
    write_score(session, run, target, next_action="")  # the action then comes from the table
    tea = product(session, price="88", cost="30", name="明前龙井")
    session.add(
        CustomerRecommendation(
            run_id=run.id, customer_id=target, rank=1, product_id=tea.id, score=0.9
        )
    )
    for other, similarity in ((sibling, 0.7), (book["theirs"], 0.9)):
        session.add(
            SimilarCustomer(
                run_id=run.id, customer_id=target, other_customer_id=other, similarity=similarity
            )
        )
    session.flush()
    mine = portrait(session=session, actor=book["alice"].user, customer_id=target)
    assert [p["name"] for p in mine.products] == ["明前龙井"]
    assert [c["customer_id"] for c in mine.similar] == [sibling]
    assert (
        mine.action is not None and mine.action.key == nba.ACTION_TABLE[("vip", "stability", False)]
    )
    everyone = portrait(session=session, actor=book["manager"].user, customer_id=target)
    assert [c["customer_id"] for c in everyone.similar] == [book["theirs"], sibling]


# ---------------------------------------------------------------- the page


def _page(client: TestClient, customer_id: int, **headers: str) -> str:
    reply = client.get(f"/customers/{customer_id}", headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.text


def test_the_360_page_shows_the_portrait_with_links(
    client: TestClient, session: Session, book: dict
) -> None:
    run = scoring_run(session)
    churn_report(session, run)
    target, sibling = book["mine"][:2]
    write_score(
        session,
        run,
        target,
        frequency=0,
        recency=650.0,
        age=800.0,
        churn_risk=0.7,
        next_action="vip_retain",
    )
    tea = product(session, price="88", cost="30", name="明前龙井")
    session.add(
        CustomerRecommendation(
            run_id=run.id, customer_id=target, rank=1, product_id=tea.id, score=0.9
        )
    )
    session.add(
        SimilarCustomer(
            run_id=run.id, customer_id=target, other_customer_id=sibling, similarity=0.5
        )
    )
    session.flush()
    sign_in(client, book["alice"].username, PASSWORD)
    page = _page(client, target)
    assert "Customer portrait" in page and "VIP (deferential)" in page
    assert "Defer to the VIP" not in page  # high risk: the VIP is kept personally
    assert "Keep the VIP personally" in page and "High risk" in page
    assert 'aria-valuenow="70"' in page
    assert "Repeat purchases: 0; customers who stayed averaged 4.0." in page
    plan = f"/interactions/follow-ups/new?customer_id={target}&amp;subject=" + quote(
        "Keep the VIP personally"
    )
    assert plan in page
    assert f'href="/sales/products/{tea.id}"' in page
    assert f'href="/customers/{sibling}"' in page and "50% alike" in page


def test_the_follow_up_form_takes_the_subject_from_the_link(client: TestClient, book: dict) -> None:
    sign_in(client, book["alice"].username, PASSWORD)
    target = book["mine"][0]
    reply = client.get(
        f"/interactions/follow-ups/new?customer_id={target}&subject="
        + quote("Keep the VIP personally")
    )
    assert reply.status_code == 200
    assert re.search(r'name="subject"[^>]*value="Keep the VIP personally"', reply.text)
    long = client.get(f"/interactions/follow-ups/new?customer_id={target}&subject=" + "x" * 500)
    assert long.status_code == 200 and 'value="' + "x" * 200 + '"' in long.text


def test_the_portrait_in_chinese(client: TestClient, session: Session, book: dict) -> None:
    run = scoring_run(session)
    write_score(session, run, book["mine"][0])
    sign_in(client, book["alice"].username, PASSWORD)
    page = _page(client, book["mine"][0], **{"Accept-Language": "zh-CN"})
    for text in ("客户画像", "屈从型 VIP客户", "稳定期", "下一步最佳行动", "顺从 VIP 客户"):
        assert text in page, text
    assert "16个月内分6天共购买7次，最近一次在45天前。" in page


def test_the_page_says_not_scored_yet(client: TestClient, session: Session, book: dict) -> None:
    sign_in(client, book["alice"].username, PASSWORD)
    assert "no scoring run has finished yet" in _page(client, book["mine"][0])
    scoring_run(session)
    assert "added after the last scoring run (2026-11-01)" in _page(client, book["mine"][0])


def test_users_without_analytics_access_see_no_portrait(
    client: TestClient, session: Session, people: People, book: dict
) -> None:
    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="front_desk",
            label="Front desk",
            record_scope="all",
            permissions={"customers": ["read"]},
        ),
    )
    desk = people.user("front_desk")
    write_score(session, scoring_run(session), book["mine"][0])
    sign_in(client, desk.username, PASSWORD)
    page = _page(client, book["mine"][0])
    assert "甲0" in page and "Customer portrait" not in page and "VIP (deferential)" not in page
    client.cookies.clear()
    sign_in(client, book["manager"].username, PASSWORD)
    assert "Customer portrait" in _page(client, book["mine"][0])


# ---------------------------------------------------------------- a real run


def test_the_portrait_of_a_really_scored_shop(fresh_database_url: str, tmp_path: Path) -> None:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    try:
        shop = seed_shop(db, customers=200, prospects=2)
        settings = Settings(
            data_dir=tmp_path, database_url=fresh_database_url, secret_key=TEST_SECRET
        )
        run = runs.analyze(db, settings, end=SHOP_END)
        assert run.status == "succeeded", run.error
        with db.sessions() as session:
            rep = session.scalars(select(User).where(User.username == "rep-a")).one()
            owned = set(session.scalars(select(Customer.id).where(Customer.owner_id == rep.id)))
            buyers = [c for c in shop.customers if c in owned]
            for customer_id in buyers[:20]:
                shown = portrait(session=session, actor=rep, customer_id=customer_id)
                assert shown.scored and shown.run_id == run.id
                assert shown.tier in ("vip", "key", "ordinary", "unprofitable")
                assert len(shown.explanation) == 3 and len(shown.drivers) <= 3
                assert shown.action is not None and shown.action.key in nba.ACTIONS
                assert all(c["customer_id"] in owned for c in shown.similar)
                assert "{" not in render(shown.explanation, "zh_CN")
            assert any(
                portrait(session=session, actor=rep, customer_id=c).products for c in buyers[:20]
            )
            prospect = next(c for c in shop.prospects if c in owned)
            assert portrait(session=session, actor=rep, customer_id=prospect).state == "prospect"
            other = next(c for c in shop.customers if c not in owned)
            with pytest.raises(NotFound):
                portrait(session=session, actor=rep, customer_id=other)
    finally:
        db.dispose()
