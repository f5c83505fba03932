"""Fixtures for the webhook tests: an app whose jobs run at once inside the test's transaction,
with no waits between retries, so a whole retry schedule plays out within one request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from guanxi import jobs
from guanxi.config import Settings
from guanxi.db import Database
from tests.conftest import TEST_SECRET
from tests.customers.import_helpers import SavepointUnits, app_running_jobs_inline


@pytest.fixture
def inline_settings(tmp_path: Path, database: Database) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database.url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
        webhook_retry_delays=[0, 0],
        webhook_timeout_seconds=5,
    )


@pytest.fixture
def inline_queue(
    inline_settings: Settings, sessions: sessionmaker[Session]
) -> Iterator[jobs.JobQueue]:
    """An immediate queue whose jobs work in savepoints of the test's transaction."""
    queue = jobs.build_queue(inline_settings, SavepointUnits(sessions), immediate=True)  # type: ignore[arg-type]
    jobs.install(queue)
    yield queue
    jobs.install(None)


@pytest.fixture
def inline_client(
    inline_settings: Settings,
    database: Database,
    sessions: sessionmaker[Session],
    session: Session,
) -> Iterator[TestClient]:
    app = app_running_jobs_inline(inline_settings, database, sessions)
    session.flush()
    with TestClient(app, base_url="http://testserver") as client:
        yield client
