"""The dashboard page (/analytics): who may open it, what it says before any run and for a bad
filter, and plotly.js served from the installed plotly package (gzipped, cached for a year)."""

from __future__ import annotations

import gzip
from importlib import resources

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.analytics.models import AnalysisRun
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import RoleCreate
from guanxi.web.vendor import PLOTLY_URL
from tests.analytics.scores_support import stored_run, stored_score
from tests.conftest import PASSWORD, People
from tests.web.forms import sign_in


def _run(session: Session) -> AnalysisRun:
    return stored_run(session, parameters={})


def test_the_dashboard_holds_every_chart_and_the_filters(
    client: TestClient, session: Session, people: People
) -> None:
    _run(session)
    analyst = people.user("analyst")
    sign_in(client, analyst.username, PASSWORD)
    page = client.get("/analytics?region=华东&team_id=&bought_from=2026-01-01")
    assert page.status_code == 200
    for chart in ("tiers", "pareto", "rfm", "lifecycle", "clv", "cohorts", "churn", "diagnostics"):
        assert f'data-chart="{chart}"' in page.text
    assert 'data-chart="funnel"' in page.text  # analysts read opportunities
    assert f'src="{PLOTLY_URL}"' in page.text
    assert 'data-scope="bought_from=2026-01-01&amp;region=%E5%8D%8E%E4%B8%9C"' in page.text
    assert 'value="华东"' in page.text and 'value="2026-01-01"' in page.text


def test_before_any_run_the_page_says_how_to_get_one(client: TestClient, people: People) -> None:
    sign_in(client, people.user("analyst").username, PASSWORD)
    page = client.get("/analytics")
    assert page.status_code == 200
    assert "No scoring run has finished yet" in page.text
    assert 'data-chart="tiers"' not in page.text


def test_a_bad_period_is_explained_not_failed(
    client: TestClient, session: Session, people: People
) -> None:
    _run(session)
    sign_in(client, people.user("manager").username, PASSWORD)
    page = client.get("/analytics?bought_from=2026-05-01&bought_to=2026-01-01")
    assert page.status_code == 422
    assert "This filter cannot be used." in page.text


def test_without_analytics_access_the_page_is_refused(
    client: TestClient, session: Session, people: People
) -> None:
    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="front-desk", label="Front desk", scope="all", permissions={"customers": ["read"]}
        ),
    )
    sign_in(client, people.user("front-desk").username, PASSWORD)
    assert client.get("/analytics").status_code == 403
    assert client.get("/api/v1/analytics/tiers").status_code == 403


def test_a_sales_rep_has_no_funnel_card_without_opportunities(
    client: TestClient, session: Session, people: People
) -> None:
    _run(session)
    sign_in(client, people.user("service").username, PASSWORD)
    page = client.get("/analytics")
    assert page.status_code == 200
    assert 'data-chart="funnel"' not in page.text  # the service role reads no opportunities
    assert 'data-full="yes"' in page.text  # and sees every customer


def test_plotly_comes_from_the_installed_package_gzipped_and_cached(client: TestClient) -> None:
    shipped = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    reply = client.get(PLOTLY_URL, headers={"Accept-Encoding": "gzip"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/javascript")
    assert "immutable" in reply.headers["cache-control"]
    assert reply.content == shipped  # the client undid the gzip encoding
    raw = client.get(PLOTLY_URL, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.content == shipped
    assert gzip.decompress(gzip.compress(shipped)) == shipped
    assert client.get("/assets/plotly-0.0.1.min.js").status_code == 404


def test_a_drilled_list_keeps_its_score_filters_when_narrowed(
    client: TestClient, session: Session, people: People
) -> None:
    from decimal import Decimal

    from tests.sales.orders_support import customer

    boss = people.user("admin")
    run = _run(session)
    vip, other = customer(session, boss.user, "贵宾甲"), customer(session, boss.user, "普通乙")
    stored_score(session, run, vip, tier="vip", clv=Decimal("9000"))
    stored_score(session, run, other, tier="ordinary", clv=Decimal("90"))
    sign_in(client, boss.username, PASSWORD)
    page = client.get("/customers?tier=vip&clv_min=1000")
    assert page.status_code == 200
    assert "贵宾甲" in page.text and "普通乙" not in page.text
    # the chip says what the list is filtered by and removes it
    assert "Value tier: VIP" in page.text and "CLV ≥ 1000" in page.text
    assert 'href="/customers?clv_min=1000"' in page.text
    # searching within the list keeps the filters the form has no field for
    assert '<input type="hidden" name="tier" value="vip">' in page.text
    assert client.get("/customers?tier=gold").status_code == 400
    api = client.get("/api/v1/customers?tier=vip,gold")
    assert api.status_code in (400, 422) and "tier" in api.text
