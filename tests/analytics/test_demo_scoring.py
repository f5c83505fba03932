"""The demo company is scored as soon as `guanxi demo` (and `guanxi serve --demo`) makes it: two
succeeded runs, 90 days apart, with VIPs, customers whose lifecycle stage moved between the runs,
and the mining centre's API answering at once. A demo that already exists is left alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased
from typer.testing import CliRunner

from guanxi import demo
from guanxi.analytics.demo import EARLIER_DAYS, score_demo
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.cli import _ensure_demo
from guanxi.cli import app as cli_app
from guanxi.config import Settings
from guanxi.db import Database
from tests.conftest import TEST_SECRET
from tests.web.forms import sign_in


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "GUANXI_DATABASE_URL": fresh_database_url,
        "GUANXI_DATA_DIR": str(tmp_path),
        "GUANXI_SECRET_KEY": TEST_SECRET,
        "GUANXI_DEFAULT_LOCALE": "en",
        "COLUMNS": "200",
    }


@pytest.fixture
def db(fresh_database_url: str) -> Iterator[Database]:
    database = Database(fresh_database_url)
    yield database
    database.dispose()


def _settings(env: dict[str, str]) -> Settings:
    return Settings(
        data_dir=Path(env["GUANXI_DATA_DIR"]),
        database_url=env["GUANXI_DATABASE_URL"],
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
    )


def _runs(db: Database) -> list[AnalysisRun]:
    with db.sessions() as session:
        return list(session.scalars(select(AnalysisRun).order_by(AnalysisRun.id)))


def test_the_demo_is_scored_twice_as_soon_as_it_is_made(env: dict[str, str], db: Database):
    upgraded = CliRunner().invoke(cli_app, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    made = CliRunner().invoke(cli_app, ["demo"], env=env)
    assert made.exit_code == 0, made.output
    settings = _settings(env)
    today = dt.datetime.now(settings.zone).date()
    earlier, latest = _runs(db)
    assert (earlier.status, latest.status) == ("succeeded", "succeeded")
    assert earlier.observation_end == today - dt.timedelta(days=EARLIER_DAYS)
    assert latest.observation_end == today
    assert f"Scoring run {latest.id} as of {today}: scored" in made.output
    # the earlier run saw the company as it was then
    assert earlier.data_to is not None and earlier.data_to <= earlier.observation_end
    assert earlier.transactions < latest.transactions

    with db.sessions() as session:
        vips = session.scalar(
            select(func.count())
            .select_from(CustomerScore)
            .where(CustomerScore.run_id == latest.id, CustomerScore.tier == "vip")
        )
        assert vips and vips >= 10
        before = aliased(CustomerScore)
        moved = session.scalar(
            select(func.count())
            .select_from(CustomerScore)
            .join(
                before,
                and_(before.customer_id == CustomerScore.customer_id, before.run_id == earlier.id),
            )
            .where(
                CustomerScore.run_id == latest.id,
                before.lifecycle_stage != CustomerScore.lifecycle_stage,
            )
        )
        assert moved and moved >= 50
        logins = demo.existing_logins(session)
        assert logins is not None
    analyst = next(login for login in logins if login.role == "analyst")

    from guanxi.app import create_app

    app = create_app(settings, database=db, embedded_worker=False)
    with TestClient(app) as client:
        sign_in(client, analyst.username, analyst.password)
        tiers = client.get("/api/v1/analytics/tiers")
        assert tiers.status_code == 200 and tiers.json()["run_id"] == latest.id
        counts = {row["tier"]: row["customers"] for row in tiers.json()["tiers"]}
        assert counts["vip"] == vips
        flows = client.get("/api/v1/analytics/lifecycle").json()
        assert flows["previous_run_id"] == earlier.id and flows["movements"]
        page = client.get(f"/analytics/runs/{latest.id}")
        assert page.status_code == 200 and f"against run #{earlier.id}" in page.text

    # made again by `serve --demo`, or scored again: nothing more happens
    _ensure_demo(db, settings, seed=1, size=demo.DemoSize.small)
    assert score_demo(db, settings) == []
    assert [run.id for run in _runs(db)] == [earlier.id, latest.id]


def test_without_a_demo_company_nothing_is_scored(env: dict[str, str], db: Database):
    assert CliRunner().invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0
    assert score_demo(db, _settings(env)) == []
    assert _runs(db) == []
