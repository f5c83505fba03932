"""``guanxi analyze`` against a real store on SQLite and PostgreSQL: every customer is scored,
the run is kept with its parameters and diagnostics, a failed run keeps the previous scores and
writes no NaN, and the API starts a run in the job queue."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from guanxi import jobs
from guanxi.analytics import runs
from guanxi.analytics.models import AnalysisRun, CustomerRecommendation, CustomerScore
from guanxi.audit.models import AuditEntry
from guanxi.cli import app as cli_app
from guanxi.config import Settings
from guanxi.db import Database
from tests.analytics.store_support import END, Shop, seed_shop
from tests.conftest import TEST_SECRET


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    values = {
        "GUANXI_DATABASE_URL": fresh_database_url,
        "GUANXI_DATA_DIR": str(tmp_path),
        "GUANXI_SECRET_KEY": TEST_SECRET,
        "GUANXI_DEFAULT_LOCALE": "en",
        "COLUMNS": "200",
    }
    upgraded = CliRunner().invoke(cli_app, ["db", "upgrade"], env=values)
    assert upgraded.exit_code == 0, upgraded.output
    return values


@pytest.fixture
def db(env: dict[str, str]) -> Database:
    database = Database(env["GUANXI_DATABASE_URL"])
    yield database
    database.dispose()


def analyze(env: dict[str, str], *args: str) -> object:
    return CliRunner().invoke(cli_app, ["analyze", "--end", END.isoformat(), *args], env=env)


def _scores(db: Database, run_id: int) -> list[CustomerScore]:
    with db.sessions() as session:
        return list(session.scalars(select(CustomerScore).where(CustomerScore.run_id == run_id)))


def test_analyze_scores_every_customer_and_keeps_the_run(env: dict[str, str], db: Database) -> None:
    shop = seed_shop(db)
    result = analyze(env)
    assert result.exit_code == 0, result.output
    assert "Scoring run" in result.output and "customers scored" in result.output
    with db.sessions() as session:
        run = runs.latest_run(session)
        assert run is not None and run.status == "succeeded" and run.progress == 100
        assert run.transactions == shop.orders
        assert run.parameters["clv"]["horizon_days"] == 365
        bgnbd = run.diagnostics["bgnbd"]
        assert all(bgnbd[name] > 0 for name in ("r", "alpha", "a", "b"))
        assert run.diagnostics["customer_equity"] > 0
        actions = set(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity_type == "analysis_run")
            )
        )
        assert {"analysis.start", "analysis.finish"} <= actions
    scores = {score.customer_id: score for score in _scores(db, run.id)}
    assert set(scores) == set(shop.customers) | set(shop.prospects)
    for customer_id in shop.prospects:
        assert scores[customer_id].lifecycle_stage == "prospect"
    buyers = [scores[customer_id] for customer_id in shop.customers]
    assert sum(score.orders for score in buyers) == shop.orders
    assert all(score.orders >= score.frequency + 1 for score in buyers)
    assert {score.tier for score in buyers} <= {"vip", "key", "ordinary", "unprofitable"}
    assert sum(score.tier == "vip" for score in buyers) == 3  # the top 1% of 300
    for score in buyers:
        assert 0 <= score.p_alive <= 1 and not math.isnan(score.p_alive)
        assert score.clv is not None and score.rfm_segment and score.next_action
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CustomerRecommendation)) > 0


def test_a_failed_run_keeps_the_previous_scores(env: dict[str, str], db: Database) -> None:
    seed_shop(db, customers=120)
    assert analyze(env).exit_code == 0
    with db.sessions() as session:
        good = runs.latest_run(session)
    failed = CliRunner().invoke(cli_app, ["analyze", "--end", "2020-01-01"], env=env)
    assert failed.exit_code != 0
    assert "no purchases" in str(failed.exception)
    with db.sessions() as session:
        assert runs.latest_run(session).id == good.id
        last = session.scalars(select(AnalysisRun).order_by(AnalysisRun.id.desc())).first()
        assert last.status == "failed" and "no purchases" in last.error
        assert (
            session.scalar(
                select(func.count())
                .select_from(CustomerScore)
                .where(CustomerScore.run_id == last.id)
            )
            == 0
        )


def test_a_fit_that_cannot_succeed_fails_clearly_without_nan(
    env: dict[str, str], db: Database
) -> None:
    seed_shop(db, customers=80, repeat=False)  # nobody ever buys twice: BG/NBD is not identified
    result = analyze(env)
    assert result.exit_code != 0
    assert "scoring run" in str(result.exception)
    with db.sessions() as session:
        assert runs.latest_run(session) is None
        assert session.scalar(select(func.count()).select_from(CustomerScore)) == 0


def test_bad_options_are_refused(env: dict[str, str]) -> None:
    for args, message in (
        (["--engine", "excel"], "unknown engine"),
        (["--end", "soon"], "not a date"),
    ):
        result = CliRunner().invoke(cli_app, ["analyze", *args], env=env)
        assert result.exit_code != 0 and message in str(result.exception)


def test_the_api_starts_a_run_in_the_job_queue(
    env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    from guanxi.app import create_app
    from guanxi.auth import login
    from guanxi.auth import service as auth_service
    from guanxi.auth.schemas import UserCreate

    seed_shop(db, customers=120)
    settings = Settings(
        data_dir=tmp_path,
        database_url=env["GUANXI_DATABASE_URL"],
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
    )
    with db.unit_of_work() as session:
        analyst = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="ana", password="correct horse battery", role="analyst"),
        )
        token = login.create_token(session=session, user=analyst, name="t", expires_in_days=1)
        rep = auth_service.get_user_by_username(session=session, username="rep-a")
        rep_token = login.create_token(session=session, user=rep, name="t", expires_in_days=1)
    headers = {"Authorization": f"Bearer {token.token}"}
    rep_headers = {"Authorization": f"Bearer {rep_token.token}"}
    queue = jobs.build_queue(settings, db, immediate=True)
    app = create_app(settings, database=db, job_queue=queue, embedded_worker=False)
    with TestClient(app) as client:
        started = client.post("/api/v1/analytics/runs", headers=headers)
        assert started.status_code == 202, started.text
        run = client.get(f"/api/v1/analytics/runs/{started.json()['id']}", headers=headers)
        assert run.json()["status"] == "succeeded", run.json()["error"]
        tiers = client.get("/api/v1/analytics/tiers", headers=headers).json()
        assert sum(row["customers"] for row in tiers["tiers"]) == 120
        everyone = client.get("/api/v1/analytics/cohorts", headers=headers).json()["cells"]
        mine = client.get("/api/v1/analytics/cohorts", headers=rep_headers).json()["cells"]
        assert mine and everyone

        def acquired(cells: list[dict]) -> int:
            return sum(c["cohort_size"] for c in cells if c["months_since"] == 0)

        # the rep's cohorts hold only the rep's 60 customers, computed on the visible rows
        assert acquired(everyone) == 120 and acquired(mine) == 60


def test_spark_scores_like_duckdb(env: dict[str, str], db: Database, spark_engine) -> None:
    shop: Shop = seed_shop(db, customers=150)
    assert analyze(env).exit_code == 0
    with db.sessions() as session:
        first = runs.latest_run(session)
    result = analyze(env, "--engine", "spark")
    assert result.exit_code == 0, result.output
    with db.sessions() as session:
        second = runs.latest_run(session)
        assert second.id != first.id and second.engine == "spark"
    duck = {s.customer_id: s for s in _scores(db, first.id)}
    spark = {s.customer_id: s for s in _scores(db, second.id)}
    assert set(duck) == set(spark) == set(shop.customers) | set(shop.prospects)
    for customer_id, score in duck.items():
        other = spark[customer_id]
        assert (score.tier, score.rfm_segment, score.lifecycle_stage) == (
            other.tier,
            other.rfm_segment,
            other.lifecycle_stage,
        )
        assert score.profit == other.profit and score.frequency == other.frequency
        if score.p_alive is not None:
            assert other.p_alive == pytest.approx(score.p_alive, rel=1e-6)


def test_a_run_that_cannot_read_the_store_fails_instead_of_hanging(
    env: dict[str, str], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guanxi.analytics import sources

    def unreadable(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("reading the store failed: the disk is gone")

    monkeypatch.setattr(sources, "transactions", unreadable)
    settings = Settings(database_url=env["GUANXI_DATABASE_URL"], secret_key=TEST_SECRET)
    finished = runs.analyze(db, settings)
    assert finished.status == "failed" and "the disk is gone" in finished.error
    with db.sessions() as session:
        # the next run is not blocked by a run left "running"
        assert runs.start(session).status == "running"
