"""The durable job queue: retries, periodic schedules, and a worker embedded in ``guanxi serve``.

Huey does the queueing. Its storage follows the operational store, so nothing extra has to be run:
a SQLite file beside the database by default, the PostgreSQL database itself in production (tables
``huey_*``, created by a migration), or Redis when ``GUANXI_REDIS_URL`` is set. Jobs are plain
functions registered with ``@job`` or ``@periodic``; the queue is built per process from settings,
so the web app, ``guanxi worker`` and the tests each get their own without import-time globals.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy import event
from sqlalchemy.orm import Session

from guanxi import crypto
from guanxi.config import Settings
from guanxi.db import Database

log = logging.getLogger("guanxi.jobs")

# Modules that define jobs; importing them registers their jobs. Later domains add theirs here.
JOB_MODULES = (
    "guanxi.auth.jobs",
    "guanxi.audit.jobs",
    "guanxi.maintenance",
    "guanxi.customers.transfer.jobs",
    "guanxi.sales.contracts.jobs",
    "guanxi.webhooks.jobs",
    "guanxi.analytics.jobs",
    "guanxi.analytics.reports.weekly",
    "guanxi.interactions.followups.reminders",
    "guanxi.interactions.mail.jobs",
    "guanxi.interactions.events.jobs",
    "guanxi.service_desk.surveys",
    "guanxi.service_desk.jobs",
    "guanxi.service_desk.portal.auth",
)
_AFTER_COMMIT_KEY = "jobs_after_commit"
QUEUE_NAME = "guanxi"


@dataclass(frozen=True)
class JobContext:
    """What a running job gets: the settings and a database to open units of work on."""

    settings: Settings
    db: Database


JobFunction = Callable[..., Any]


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: JobFunction
    retries: int
    retry_delay: int
    schedule: dict[str, str] | None = None


_registry: dict[str, JobSpec] = {}


def job(*, retries: int = 3, retry_delay: int = 30) -> Callable[[JobFunction], JobFunction]:
    """Register ``function(ctx, **kwargs)`` as a job that is retried ``retries`` times."""

    def register(function: JobFunction) -> JobFunction:
        name = f"{function.__module__}.{function.__name__}"
        _registry[name] = JobSpec(name, function, retries, retry_delay)
        return function

    return register


def periodic(**schedule: str) -> Callable[[JobFunction], JobFunction]:
    """Register ``function(ctx)`` to run on a cron schedule: ``periodic(minute="0", hour="3")``.
    Hours are the company's clock (``GUANXI_TIMEZONE``): "3" is three at night in Shanghai."""

    def register(function: JobFunction) -> JobFunction:
        name = f"{function.__module__}.{function.__name__}"
        _registry[name] = JobSpec(name, function, retries=2, retry_delay=60, schedule=schedule)
        return function

    return register


def _import_job_modules() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)


@dataclass
class JobQueue:
    """A Huey instance with every registered job bound to this process's settings and database."""

    huey: Huey
    context: JobContext
    tasks: dict[str, Any] = field(default_factory=dict)

    def enqueue(self, function: JobFunction, **kwargs: Any) -> None:
        name = f"{function.__module__}.{function.__name__}"
        if name not in self.tasks:
            raise KeyError(f"{name} is not a registered job")
        self.tasks[name](**kwargs)

    def enqueue_in(self, delay: float, function: JobFunction, **kwargs: Any) -> None:
        """Queue a job to run ``delay`` seconds from now; the queue's storage keeps the schedule,
        so it survives a restart."""
        name = f"{function.__module__}.{function.__name__}"
        if name not in self.tasks:
            raise KeyError(f"{name} is not a registered job")
        self.tasks[name].schedule(kwargs=kwargs, delay=delay)

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def consumer(self, *, workers: int = 2, embedded: bool = False) -> Consumer:
        options: dict[str, Any] = {"workers": workers, "worker_type": "thread", "periodic": True}
        if embedded:
            return _EmbeddedConsumer(self.huey, **options)
        return self.huey.create_consumer(**options)


class _EmbeddedConsumer(Consumer):
    """A consumer running inside the web server: the server, not Huey, owns the process signals."""

    def _set_signal_handlers(self) -> None:
        return None


def build_queue(settings: Settings, db: Database, *, immediate: bool = False) -> JobQueue:
    _import_job_modules()
    crypto.configure(settings)  # jobs may read encrypted fields
    huey = _make_huey(settings, db, immediate=immediate)
    queue = JobQueue(huey, JobContext(settings, db))
    for spec in _registry.values():
        queue.tasks[spec.name] = _bind(huey, spec, queue.context)
    return queue


def _make_huey(settings: Settings, db: Database, *, immediate: bool) -> Huey:
    options: dict[str, Any] = {"results": False, "utc": True, "immediate": immediate}
    if immediate:
        return Huey(QUEUE_NAME, **options)
    if settings.redis_url:
        return RedisHuey(QUEUE_NAME, url=settings.redis_url, **options)
    if db.engine.dialect.name == "postgresql":
        url = db.engine.url.set(drivername="postgresql")
        return PostgresHuey(
            QUEUE_NAME,
            dsn=url.render_as_string(hide_password=False),
            create_tables=False,  # the migration owns the schema
            **options,
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(settings.data_dir / "jobs.sqlite3"), **options)


def _bind(huey: Huey, spec: JobSpec, context: JobContext) -> Any:
    def run(**kwargs: Any) -> Any:
        log.info("job %s started", spec.name)
        return spec.function(context, **kwargs)

    run.__name__ = spec.name.replace(".", "_")
    options = {"retries": spec.retries, "retry_delay": spec.retry_delay, "name": spec.name}
    if spec.schedule is not None:
        schedule = company_schedule(spec.schedule, ZoneInfo(context.settings.timezone))
        return huey.periodic_task(crontab(**schedule), **options)(run)
    return huey.task(**options)(run)


def company_schedule(
    schedule: dict[str, str], zone: ZoneInfo, now: datetime | None = None
) -> dict[str, str]:
    """``schedule`` with its fixed hours (and minutes, for zones off by half an hour) moved from
    the company's clock to UTC, the clock the queue keeps. The offset is today's: a zone with
    summer time shifts by an hour until the workers restart after the change."""
    if {"day", "day_of_week", "month"} & schedule.keys():
        # moving the hour could move the day too; no job needs that yet
        raise ValueError("a periodic job's schedule may name minutes and hours only")
    offset = (now or datetime.now(UTC)).astimezone(zone).utcoffset() or timedelta()
    shift = int(offset.total_seconds() // 60)
    hour, minute = schedule.get("hour", "*"), schedule.get("minute", "*")
    if not shift or not hour.isdigit():
        return schedule
    if shift % 60 and not minute.isdigit():
        return schedule  # no fixed minute to carry the half hour
    start = (int(hour) * 60 + (int(minute) if minute.isdigit() else 0) - shift) % (24 * 60)
    moved = dict(schedule, hour=str(start // 60))
    if minute.isdigit():
        moved["minute"] = str(start % 60)
    return moved


# ---------------------------------------------------------------- enqueue after commit

_current: JobQueue | None = None


def install(queue: JobQueue | None) -> None:
    """Make ``queue`` the one that ``enqueue_after_commit`` uses in this process."""
    global _current
    _current = queue


def enqueue_after_commit(session: Session, function: JobFunction, **kwargs: Any) -> None:
    """Queue a job once the session's transaction commits, so it never sees uncommitted data
    and never runs for a change that was rolled back."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append((function, kwargs, 0.0))


def schedule_after_commit(
    session: Session, function: JobFunction, *, delay: float, **kwargs: Any
) -> None:
    """Like ``enqueue_after_commit``, but the job runs ``delay`` seconds after the commit."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append((function, kwargs, delay))


@event.listens_for(Session, "after_commit")
def _flush_jobs(session: Session) -> None:
    pending = session.info.pop(_AFTER_COMMIT_KEY, [])
    if not pending:
        return
    if _current is None:
        log.warning("no job queue installed; %d job(s) dropped", len(pending))
        return
    for function, kwargs, delay in pending:
        if delay > 0:
            _current.enqueue_in(delay, function, **kwargs)
        else:
            _current.enqueue(function, **kwargs)


@event.listens_for(Session, "after_rollback")
def _drop_jobs(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_KEY, None)


@contextmanager
def running(queue: JobQueue, *, workers: int = 2) -> Iterator[Consumer]:
    """Run an embedded consumer for the duration of the block."""
    consumer = queue.consumer(workers=workers, embedded=True)
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
