"""The durable job queue: jobs survive a restart, failures are retried, schedules are registered."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from guanxi import jobs
from guanxi.auth import login
from guanxi.auth.models import LoginAttempt
from guanxi.config import Settings
from guanxi.db import Database, utcnow
from tests.conftest import People

_attempts: dict[str, int] = {}


@jobs.job(retries=0)
def write_marker(ctx: jobs.JobContext, *, path: str, text: str) -> None:
    Path(path).write_text(text)


@jobs.job(retries=3, retry_delay=0)
def flaky_marker(ctx: jobs.JobContext, *, path: str, failures: int) -> None:
    _attempts[path] = _attempts.get(path, 0) + 1
    if _attempts[path] <= failures:
        raise RuntimeError(f"attempt {_attempts[path]} fails on purpose")
    Path(path).write_text(str(_attempts[path]))


def _wait_for(path: Path, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.05)
    return False


def test_a_queued_job_survives_a_restart(settings: Settings, database: Database, tmp_path: Path):
    marker = tmp_path / "done.txt"
    before_restart = jobs.build_queue(settings, database)
    before_restart.enqueue(write_marker, path=str(marker), text="ran after restart")
    assert before_restart.pending() >= 1
    before_restart.huey.storage.close()
    del before_restart  # the process that queued the job is gone

    after_restart = jobs.build_queue(settings, database)
    with jobs.running(after_restart, workers=1):
        assert _wait_for(marker)
    assert marker.read_text() == "ran after restart"


def test_failing_jobs_are_retried(settings: Settings, database: Database, tmp_path: Path):
    marker = tmp_path / "flaky.txt"
    queue = jobs.build_queue(settings, database)
    queue.enqueue(flaky_marker, path=str(marker), failures=2)
    with jobs.running(queue, workers=1):
        assert _wait_for(marker)
    assert marker.read_text() == "3"


def test_housekeeping_runs_on_a_schedule(settings: Settings, database: Database):
    queue = jobs.build_queue(settings, database, immediate=True)
    # the queue keeps UTC: 02:17 and 02:30 in Shanghai are 18:17 and 18:30 UTC the day before
    due_at_0217 = {t.name for t in queue.huey.read_periodic(datetime(2026, 11, 22, 18, 17))}
    due_at_0230 = {t.name for t in queue.huey.read_periodic(datetime(2026, 11, 22, 18, 30))}
    assert "guanxi.auth.jobs.prune_sign_in_records" in due_at_0217
    assert "guanxi.audit.jobs.verify_audit_chain" in due_at_0230
    assert "guanxi.audit.jobs.verify_audit_chain" not in due_at_0217


def test_unregistered_functions_cannot_be_queued(settings: Settings, database: Database):
    queue = jobs.build_queue(settings, database, immediate=True)
    with pytest.raises(KeyError):
        queue.enqueue(print)


def test_jobs_queued_in_a_transaction_wait_for_its_commit(
    settings: Settings, database: Database, session: Session, tmp_path: Path
):
    queue = jobs.build_queue(settings, database, immediate=True)
    jobs.install(queue)
    try:
        rolled_back = tmp_path / "rolled-back.txt"
        nested = session.begin_nested()
        jobs.enqueue_after_commit(session, write_marker, path=str(rolled_back), text="no")
        nested.rollback()
        session.commit()
        assert not rolled_back.exists()

        committed = tmp_path / "committed.txt"
        jobs.enqueue_after_commit(session, write_marker, path=str(committed), text="yes")
        assert not committed.exists()
        session.commit()
        assert committed.read_text() == "yes"
    finally:
        jobs.install(None)


def test_pruning_removes_only_expired_sign_in_records(
    session: Session, people: People, settings: Settings
):
    person = people.user("sales")
    live = login.start_session(
        session=session, settings=settings, user=person.user, ip_address="", user_agent=""
    )
    expired = login.start_session(
        session=session, settings=settings, user=person.user, ip_address="", user_agent=""
    )
    expired.record.expires_at = utcnow() - timedelta(minutes=1)
    session.add(
        LoginAttempt(
            username="old",
            ip_address="",
            succeeded=False,
            attempted_at=utcnow() - timedelta(days=3),
        )
    )
    session.flush()
    assert login.prune_sessions(session=session) == 1
    assert login.prune_login_attempts(session=session, older_than=timedelta(days=1)) == 1
    assert login.resolve_session(session=session, token=live.token) is not None


def test_database_care_runs_on_either_store(settings: Settings, database: Database):
    from guanxi.maintenance import optimize_database

    optimize_database(jobs.JobContext(settings, database))  # must not fail on SQLite or PostgreSQL
    queue = jobs.build_queue(settings, database, immediate=True)
    due = {t.name for t in queue.huey.read_periodic(datetime(2026, 11, 22, 19, 10))}  # 03:10 +8
    assert "guanxi.maintenance.optimize_database" in due


def test_periodic_hours_are_the_companys_clock() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from guanxi.jobs import company_schedule

    winter = datetime(2026, 1, 15, tzinfo=UTC)
    shanghai = ZoneInfo("Asia/Shanghai")
    # 02:30 in Shanghai is 18:30 UTC the evening before
    assert company_schedule({"minute": "30", "hour": "2"}, shanghai, winter) == {
        "minute": "30",
        "hour": "18",
    }
    assert company_schedule({"minute": "10", "hour": "10"}, shanghai, winter)["hour"] == "2"
    # schedules without a fixed hour run on the queue's clock as they are
    assert company_schedule({"minute": "*/5"}, shanghai, winter) == {"minute": "*/5"}
    assert company_schedule({"minute": "17", "hour": "*"}, shanghai, winter)["hour"] == "*"
    # a half-hour zone moves the minute too; UTC moves nothing
    kolkata = company_schedule({"minute": "10", "hour": "3"}, ZoneInfo("Asia/Kolkata"), winter)
    assert kolkata == {"minute": "40", "hour": "21"}
    assert company_schedule({"minute": "10", "hour": "3"}, ZoneInfo("UTC"), winter)["hour"] == "3"
    # summer time is counted as it is on the day the queue is built
    summer = datetime(2026, 7, 1, tzinfo=UTC)
    assert company_schedule({"minute": "0", "hour": "3"}, ZoneInfo("Europe/Berlin"), summer) == {
        "minute": "0",
        "hour": "1",
    }
    with pytest.raises(ValueError, match="minutes and hours only"):
        company_schedule({"minute": "0", "hour": "8", "day_of_week": "1"}, shanghai, winter)
