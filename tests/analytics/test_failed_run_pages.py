"""A failed scoring run keeps the old scores: after a run that succeeded, a run started from the
page (the JSON API with the page's CSRF token, as the "Run scoring now" script does) fails in
the job queue; the figures, the customer list's filter and the work lists still give the
succeeded run's results, and the runs pages show the failure with its reason. Real scoring on
a committed shop, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from guanxi import jobs, schema
from guanxi.analytics import runs
from guanxi.analytics.clv import FitFailed
from guanxi.analytics.models import CustomerScore
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.db import Database
from tests.analytics.store_support import END, seed_shop
from tests.conftest import PASSWORD, TEST_SECRET
from tests.web.forms import sign_in

REASON = "the BG/NBD fit did not converge (made to fail by the test)"


@pytest.fixture
def db(fresh_database_url: str) -> Iterator[Database]:
    database = Database(fresh_database_url)
    schema.upgrade(database)
    yield database
    database.dispose()


def _listed(client: TestClient, query: str) -> list[int]:
    page = client.get(f"/customers?{query}")
    assert page.status_code == 200
    return sorted(
        int(i) for i in re.findall(r'class="name-cell"><a href="/customers/(\d+)"', page.text)
    )


def _vips(db: Database, run_id: int) -> list[int]:
    with db.sessions() as session:
        return sorted(
            session.scalars(
                select(CustomerScore.customer_id).where(
                    CustomerScore.run_id == run_id, CustomerScore.tier == "vip"
                )
            )
        )


def _figures(client: TestClient) -> dict[str, object]:
    return {
        name: client.get(f"/api/v1/analytics/{name}").json()
        for name in ("tiers", "lifecycle", "clv", "rfm")
    }


def test_a_failed_scoring_run_keeps_the_old_scores(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_shop(db, customers=120)
    settings = Settings(
        data_dir=tmp_path,
        database_url=db.url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
    )
    good = runs.analyze(db, settings, end=END)
    assert good.status == "succeeded", good.error
    with db.unit_of_work() as session:
        auth_service.create_user(
            session=session,
            user_in=UserCreate(username="ana", password=PASSWORD, role="analyst"),
        )
    queue = jobs.build_queue(settings, db, immediate=True)
    from guanxi.app import create_app

    app = create_app(settings, database=db, job_queue=queue, embedded_worker=False)
    with TestClient(app) as client:
        sign_in(client, "ana", PASSWORD)
        before = _figures(client)
        assert before["tiers"]["run_id"] == good.id  # type: ignore[index]
        vips = _listed(client, "tier=vip")
        assert vips and vips == _vips(db, good.id)
        declining = _listed(client, "stage=decline")
        worklists_before = client.get("/analytics/worklists?scope=team").text

        def fails(*_args: object, **_kwargs: object) -> None:
            raise FitFailed(REASON)

        monkeypatch.setattr(runs, "score", fails)
        page = client.get("/analytics/runs")
        token = re.search(r'data-csrf="([^"]+)"', page.text)
        assert token, "the page gives its script no CSRF token"
        started = client.post(
            "/api/v1/analytics/runs",
            headers={"X-CSRF-Token": token.group(1), "Accept": "application/json"},
        )
        assert started.status_code == 202, started.text
        failed_id = started.json()["id"]
        run = client.get(f"/api/v1/analytics/runs/{failed_id}").json()
        assert run["status"] == "failed" and run["error"] == REASON

        assert _figures(client) == before
        assert _listed(client, "tier=vip") == vips
        assert _listed(client, "stage=decline") == declining
        counts = re.findall(r"data-count>([^<]+)<", worklists_before)
        after = client.get("/analytics/worklists?scope=team").text
        assert re.findall(r"data-count>([^<]+)<", after) == counts

        listing = client.get("/analytics/runs").text
        row = re.search(
            rf'<tr data-run="{failed_id}" data-status="failed">(.*?)</tr>', listing, re.S
        )
        assert row and REASON in html.unescape(row.group(1))
        detail = html.unescape(client.get(f"/analytics/runs/{failed_id}").text)
        assert f"This run failed: {REASON}" in detail
        assert "the pages still use the scores of the last run that succeeded" in detail
