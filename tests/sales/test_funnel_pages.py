"""The funnel page: the known figures on screen (bars and the table), filters kept in the URL,
inline errors for a bad period, and who may open it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import People, Person
from tests.sales.funnel_support import Pipeline, build_pipeline
from tests.web.forms import sign_in

PERIOD = "start=2026-01-01&end=2026-03-31"


@pytest.fixture
def pipeline(session: Session, people: People) -> Pipeline:
    return build_pipeline(session, people)


def _open(client: TestClient, person: Person, query: str = PERIOD):  # type: ignore[no-untyped-def]
    assert sign_in(client, person.username, person.password).status_code == 303
    return client.get(f"/sales/funnel?{query}")


def _row(html: str, stage: str) -> list[str]:
    match = re.search(rf'<tr data-stage="{stage}">(.*?)</tr>', html, re.S)
    assert match, stage
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


def test_page_shows_the_funnel_with_its_numbers(
    client: TestClient, people: People, pipeline: Pipeline
):
    page = _open(client, people.user("admin"))
    assert page.status_code == 200, page.text
    html = page.text
    lead = _row(html, "lead")
    assert lead[:2] == ["Lead", "9"]
    assert "19,750.75" in lead[2]
    assert lead[3:8] == ["100.0%", "6 → Qualified", "66.7%", "3", "33.3%"]
    assert lead[8].startswith("2.25")
    negotiation = _row(html, "negotiation")
    assert negotiation[1] == "3" and negotiation[4] == "3 → Won"
    # the bars: widths proportional to the cohort (6 of 9 reached qualified)
    assert 'style="width: 66.7%"' in html
    # win rates per owner, source and product; the forecast table
    assert 'data-by="owner"' in html and 'data-by="product"' in html
    assert "云存储套餐" in html
    assert 'value="2026-01-01"' in html and 'value="2026-03-31"' in html


def test_a_sales_rep_sees_only_their_own_numbers(
    client: TestClient, people: People, pipeline: Pipeline
):
    html = _open(client, pipeline.a).text
    assert _row(html, "lead")[1] == "4"
    assert pipeline.c.user.label not in html  # another team's rep is neither counted nor listed


def test_filters_come_from_the_url(client: TestClient, people: People, pipeline: Pipeline):
    page = _open(client, people.user("admin"), f"{PERIOD}&source=referral")
    assert _row(page.text, "lead")[1] == "3"  # 3, 4, 8
    assert '<option value="referral" selected>' in page.text


def test_default_period_is_the_last_90_days(client: TestClient, people: People):
    page = _open(client, people.user("admin"), "")
    assert page.status_code == 200
    today = datetime.now(UTC).date()
    assert f'value="{today.isoformat()}"' in page.text
    assert f'value="{(today - timedelta(days=89)).isoformat()}"' in page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-02-30", "Enter a date as YYYY-MM-DD."),
        ("start=2026-03-31&end=2026-01-01", "The end must not be before the start."),
        ("start=2019-01-01&end=2026-01-01", "A period may span at most five years."),
        ("months=99", "Between 1 and 24 months."),
    ],
)
def test_bad_period_shows_the_form_again_with_the_error(
    client: TestClient, people: People, query: str, message: str
):
    page = _open(client, people.user("admin"), query)
    assert page.status_code == 422
    assert message in page.text
    assert 'aria-label="Period and filters"' in page.text


def test_roles_without_opportunities_cannot_open_the_page(client: TestClient, people: People):
    page = _open(client, people.user("marketing"))
    assert page.status_code == 403
