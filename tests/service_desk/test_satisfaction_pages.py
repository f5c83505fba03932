"""The satisfaction report: CSAT and NPS by tier on known answers, complaints counted by
category and root cause per month, only over the tickets the reader may see, and only for
managers, administrators and analysts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.service_desk import satisfaction
from tests.conftest import People, Person
from tests.service_desk import survey_support as support


def _complaint(session: Session, customer_id: int, when: str, category: str, cause: str) -> None:
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    support.ticket(
        session,
        customer_id,
        kind="complaint",
        category=category,
        root_cause=cause,
        created_at=moment,
        status="new",
        resolved_at=None,
    )


@pytest.fixture
def book(session: Session, people: People) -> dict[str, Person]:
    team = people.team("华东")
    manager = people.user("manager", team=team)
    rep = people.user("sales", team=team)
    other = people.user("sales")
    mine = support.customer(session, rep.user, "甲", value_tier="vip")
    theirs = support.customer(session, other.user, "丙", value_tier="vip")
    support.survey(session, support.ticket(session, mine, tier="vip"), csat=5, nps=10)
    support.survey(session, support.ticket(session, mine, tier="vip"), csat=2, nps=4)
    support.survey(session, support.ticket(session, theirs, tier="vip"), csat=1, nps=0)
    _complaint(session, mine, "2026-10-03 10:00", "配送", "承运商延误")
    _complaint(session, mine, "2026-10-20 10:00", "配送", "仓库漏发")
    _complaint(session, mine, "2026-11-02 10:00", "质量", "")
    _complaint(session, mine, "2026-11-05 10:00", "配送", "承运商延误")
    _complaint(session, theirs, "2026-11-06 10:00", "价格", "促销规则")
    support.ticket(session, mine, kind="inquiry", category="配送")  # not a complaint
    session.flush()
    return {
        "manager": manager,
        "rep": rep,
        "admin": people.user("admin"),
        "analyst": people.user("analyst"),
    }


def test_complaint_analysis_counts(session: Session, book: dict[str, Person]) -> None:
    seen = satisfaction.complaints(session, actor=book["admin"].user)
    assert seen.months == ["2026-10", "2026-11"]
    assert seen.by_category["配送"] == {"2026-10": 2, "2026-11": 1}
    assert seen.by_category["价格"] == {"2026-11": 1}
    assert seen.by_root_cause["承运商延误"] == {"2026-10": 1, "2026-11": 1}
    assert seen.by_root_cause[""] == {"2026-11": 1}
    assert seen.category_totals()[0] == ("配送", 3) and seen.total == 5

    team = satisfaction.complaints(session, actor=book["manager"].user)
    assert team.total == 4 and "价格" not in team.by_category
    november = satisfaction.complaints(
        session, actor=book["admin"].user, period=satisfaction.parse_period("2026-11")
    )
    assert november.months == ["2026-11"] and november.total == 3


def _cell(page: str, section: str, key: str, column: str) -> str:
    part = page[page.index(f'id="{section}"') :]
    row = part[part.index(f'data-key="{key}"') :]
    row = row[: row.index("</tr>")]
    found = re.search(rf"<td class=\"num\" {column}>([^<]*)<", row)
    assert found, row
    return found.group(1).strip()


def test_page_shows_figures_by_tier(
    client: TestClient, book: dict[str, Person], people: People
) -> None:
    admin = people.token(book["admin"])
    page = client.get("/service/satisfaction", headers={**admin, "Accept-Language": "en"})
    assert page.status_code == 200, page.text
    # 5/10, 2/4 and 1/0: CSAT 2.67; one promoter, two detractors of three: -33.3
    assert _cell(page.text, "tier-h", "vip", "data-csat") == "2.67"
    assert _cell(page.text, "tier-h", "vip", "data-nps") == "-33.3"
    assert ">5</span>" in page.text.replace(" data-complaints-total", "")

    manager = people.token(book["manager"])
    team = client.get("/service/satisfaction", headers=manager)
    assert _cell(team.text, "tier-h", "vip", "data-csat") == "3.50"
    assert _cell(team.text, "tier-h", "vip", "data-nps") == "0.0"
    assert "价格" not in team.text and "承运商延误" in team.text


def test_page_in_chinese_and_bad_period(
    client: TestClient, book: dict[str, Person], people: People
) -> None:
    headers = {**people.token(book["analyst"]), "Accept-Language": "zh-CN"}
    page = client.get("/service/satisfaction", params={"period": "90d"}, headers=headers)
    assert page.status_code == 200
    bad = client.get("/service/satisfaction", params={"period": "soon"}, headers=headers)
    assert bad.status_code == 422
    assert 'value="soon" selected' in bad.text


def test_only_report_readers(client: TestClient, book: dict[str, Person], people: People) -> None:
    assert client.get("/service/satisfaction", headers=people.token(book["rep"])).status_code == 403
    service = people.token(people.user("service"))
    assert client.get("/service/satisfaction", headers=service).status_code == 403
    signed_out = client.get("/service/satisfaction", follow_redirects=False)
    assert signed_out.status_code == 303
