"""What the import and export tests share: units of work inside the test's transaction (so a job
or a batch commits a savepoint, and a failure rolls back only its own work), files, and an app
whose background jobs run at once inside that transaction."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from guanxi import jobs
from guanxi.config import Settings
from guanxi.db import Database


class SavepointUnits:
    """``Database.unit_of_work`` for a test: commit and rollback of one savepoint."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(rows)
    return path


def app_running_jobs_inline(
    settings: Settings, database: Database, sessions: sessionmaker[Session]
) -> FastAPI:
    """The app with an immediate job queue whose jobs open their units of work inside the
    test's transaction, so an import queued by a request runs before the request returns."""
    from guanxi.app import create_app

    queue = jobs.build_queue(settings, SavepointUnits(sessions), immediate=True)  # type: ignore[arg-type]
    return create_app(
        settings, database=database, sessions=sessions, job_queue=queue, embedded_worker=False
    )
