"""The scoring-run pages: the list of runs with who started them and why a run failed, one run
with its parameters and diagnostics compared with another run, and who may see what. A sales rep
sees the runs and their own customers' figures but none of the whole-base diagnostics; a role
without analytics access gets 403. Scores are written as a run writes them (``scores_support``)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.analytics.models import AnalysisRun
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import RoleCreate
from tests.analytics.scores_support import PARAMETERS, stored_run, stored_score
from tests.conftest import PASSWORD, People, Person
from tests.sales.orders_support import customer
from tests.web.forms import csrf_from, sign_in

FAILURE = "there are no purchases to analyse up to the observation end"


def _diagnostics(r: float, equity: float) -> dict[str, object]:
    return {
        "bgnbd": {
            "r": r,
            "alpha": 3.5,
            "a": 0.5,
            "b": 2.0,
            "log_likelihood": -1000.0,
            "standard_errors": {"r": 0.01, "alpha": 0.2, "a": 0.05, "b": 0.1},
        },
        "gamma_gamma": {"p": 1.1, "q": 1.4, "v": 600.0, "log_likelihood": -800.0},
        "customer_equity": equity,
        "gini": 0.61,
        "top_20_share": 0.74,
        "churn_auc": 0.71,
        "holdout": {
            "calibration_end": "2026-05-05",
            "by_frequency": [
                {"frequency": 0, "label": "0", "customers": 40, "predicted": 0.31, "actual": 0.27}
            ],
        },
    }


@dataclass
class Book:
    alice: Person
    bob: Person
    admin: Person
    older: AnalysisRun
    newer: AnalysisRun
    failed: AnalysisRun


@pytest.fixture
def book(session: Session, people: People) -> Book:
    """Two reps of two teams, an admin, two succeeded runs and a failed one."""
    alice = people.user("sales", team=people.team("East"))
    bob = people.user("sales", team=people.team("West"))
    admin = people.user("admin")
    a = [customer(session, alice.user, f"甲{i}") for i in range(3)]
    b = [customer(session, bob.user, f"乙{i}") for i in range(2)]
    older = stored_run(session, diagnostics=_diagnostics(0.2, 1000.0))
    for customer_id, tier, stage in (
        (a[0], "key", "stability"),
        (a[1], "key", "stability"),
        (a[2], "ordinary", "formation"),
        (b[0], "vip", "stability"),
        (b[1], "ordinary", "stability"),
    ):
        stored_score(session, older, customer_id, tier=tier, lifecycle_stage=stage)
    newer = stored_run(
        session,
        parameters={**PARAMETERS, "churn_high_risk": 0.7},
        diagnostics=_diagnostics(0.25, 1500.0),
        transactions=321,
        customers_scored=5,
        started_by_id=admin.user.id,
    )
    for customer_id, tier, stage, clv in (
        (a[0], "vip", "stability", "900.00"),
        (a[1], "key", "decline", "100.00"),
        (a[2], "ordinary", "stability", "50.00"),
        (b[0], "vip", "stability", "700.00"),
        (b[1], "unprofitable", "decline", "10.00"),
    ):
        stored_score(
            session, newer, customer_id, tier=tier, lifecycle_stage=stage, clv=Decimal(clv)
        )
    failed = stored_run(session, status="failed", error=FAILURE, progress=10)
    return Book(alice, bob, admin, older, newer, failed)


def _open(client: TestClient, person: Person, path: str):  # type: ignore[no-untyped-def]
    sign_in(client, person.username, PASSWORD)
    return client.get(path)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _cells(page: str, figure: str) -> list[str]:
    """The cells of the comparison row for ``figure``: this run, the other one, the change."""
    row = re.search(rf'<tr data-figure="{figure}">(.*?)</tr>', page, re.S)
    assert row, f"no row for {figure}"
    return [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def _run_row(page: str, run_id: int) -> str:
    row = re.search(rf'<tr data-run="{run_id}"[^>]*>(.*?)</tr>', page, re.S)
    assert row, f"run {run_id} is not listed"
    return _text(row.group(1))


def test_the_runs_page_lists_every_run_and_why_one_failed(client: TestClient, book: Book):
    page = _open(client, book.admin, "/analytics/runs")
    assert page.status_code == 200
    text = page.text
    order = [text.index(f'data-run="{run.id}"') for run in (book.failed, book.newer, book.older)]
    assert order == sorted(order)  # newest first
    failed = _run_row(text, book.failed.id)
    assert "Failed" in failed and FAILURE in failed
    newer = _run_row(text, book.newer.id)
    assert "Succeeded" in newer and book.admin.user.label in newer
    assert "321" in newer and "duckdb" in newer and "2026-11-01" in newer
    assert "Schedule or command line" in _run_row(text, book.older.id)
    assert ">Customers scored<" in text
    assert "Run scoring now" in text and 'href="/analytics/worklists"' in text
    assert 'src="/static/analytics/run_now.js"' in text
    assert client.get("/static/analytics/run_now.js").status_code == 200


def test_a_run_is_compared_with_the_run_before_it(client: TestClient, book: Book):
    page = _open(client, book.admin, f"/analytics/runs/{book.newer.id}")
    assert page.status_code == 200
    assert f"against run #{book.older.id}" in _text(page.text)
    assert _cells(page.text, "vip") == ["2", "1", "+1"]
    assert _cells(page.text, "key") == ["1", "2", "-1"]
    assert _cells(page.text, "decline") == ["2", "0", "+2"]
    assert _cells(page.text, "customers") == ["5", "5", "±0"]
    assert _cells(page.text, "r") == ["0.25 ± 0.01", "0.2 ± 0.01", "+0.05"]
    assert _cells(page.text, "churn_auc")[:2] == ["0.71", "0.71"]
    assert "Holdout check" in page.text and "0.31" in page.text
    changed = re.findall(r"<tr class=\"changed-row\" data-changed>(.*?)</tr>", page.text, re.S)
    assert [_text(row) for row in changed] == ["churn_high_risk 0.7 0.6"]


def test_another_run_can_be_chosen_and_a_wrong_choice_is_named(client: TestClient, book: Book):
    page = _open(client, book.admin, f"/analytics/runs/{book.older.id}?with={book.newer.id}")
    assert page.status_code == 200
    assert _cells(page.text, "vip") == ["1", "2", "-1"]
    for wrong in ("abc", str(book.failed.id), str(book.newer.id), "999999"):
        page = client.get(f"/analytics/runs/{book.newer.id}?with={wrong}")
        assert page.status_code == 422
        assert "Choose a finished run to compare with." in page.text
        assert _cells(page.text, "vip") == ["2", "1", "+1"]  # the previous run instead
    first = client.get(f"/analytics/runs/{book.older.id}")
    assert "nothing to compare this run with yet" in first.text
    assert _cells(first.text, "vip") == ["1"]


def test_a_failed_run_shows_its_reason_and_no_comparison(client: TestClient, book: Book):
    page = _open(client, book.admin, f"/analytics/runs/{book.failed.id}")
    assert page.status_code == 200
    assert f"This run failed: {FAILURE}" in _text(page.text)
    assert "the pages still use the scores of the last run that succeeded" in page.text
    assert "data-figure" not in page.text
    assert client.get("/analytics/runs/999999").status_code == 404


def test_sales_see_runs_and_their_own_figures_but_no_diagnostics(client: TestClient, book: Book):
    listing = _open(client, book.alice, "/analytics/runs")
    assert listing.status_code == 200
    assert FAILURE in _run_row(listing.text, book.failed.id)
    assert ">Customers scored<" not in listing.text and ">321<" not in listing.text
    assert "Run scoring now" not in listing.text  # sales may not start runs
    page = client.get(f"/analytics/runs/{book.newer.id}")
    assert page.status_code == 200
    assert "Counted over the customers you may see." in page.text
    assert _cells(page.text, "vip") == ["1", "0", "+1"]  # Alice's 甲0 only, not 乙0
    assert _cells(page.text, "customers") == ["3", "3", "±0"]
    assert _cells(page.text, "customer_equity")[0] == "CN¥1,050.00"
    for hidden in ("Models and diagnostics", "Holdout check", 'data-figure="r"', "0.71"):
        assert hidden not in page.text
    assert "churn_high_risk" in page.text  # the parameters are no secret
    form = client.get("/analytics/runs")
    started = client.post(
        "/analytics/runs", data={"csrf_token": csrf_from(form.text)}, follow_redirects=False
    )
    assert started.status_code == 403


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
    run = stored_run(session)
    sign_in(client, viewer.username, PASSWORD)
    for path in ("/analytics/runs", f"/analytics/runs/{run.id}"):
        assert client.get(path).status_code == 403


def test_starting_while_a_run_is_going_says_so(client: TestClient, session: Session, book: Book):
    running = stored_run(session, status="running", step="clv", progress=25)
    page = _open(client, book.admin, "/analytics/runs")
    assert f'data-run-id="{running.id}"' in page.text  # the script follows it at once
    assert "Fitting the CLV models" in _run_row(page.text, running.id)
    started = client.post(
        "/analytics/runs", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert started.status_code == 303
    assert "A scoring run is already in progress." in client.get(started.headers["location"]).text
    one = client.get(f"/analytics/runs/{running.id}")
    assert 'http-equiv="refresh"' in one.text and "25%" in one.text


class _Reader:
    """What a page's ``user`` offers the partial: a check of the viewer's grants."""

    def __init__(self, *grants: tuple[str, str]) -> None:
        self.grants = set(grants)

    def can(self, resource: str, action: str) -> bool:
        return (resource, action) in self.grants


def test_the_run_now_partial_fits_into_any_page():
    from guanxi.web.templating import ENVIRONMENT

    partial = ENVIRONMENT.get_template("analytics/_run_now.html")
    starter = partial.render(
        user=_Reader(("analytics", "read"), ("analytics", "create")), csrf_token="t0ken"
    )
    assert "data-run-now" in starter and 'data-csrf="t0ken"' in starter
    assert "data-run-id" not in starter  # the script asks the API whether a run is going
    assert "Run scoring now" in starter and "/static/analytics/run_now.js" in starter
    reader = partial.render(user=_Reader(("analytics", "read")), csrf_token="t0ken")
    assert "data-run-now" in reader and "Run scoring now" not in reader
    assert partial.render(user=_Reader(), csrf_token="t0ken").strip() == ""
