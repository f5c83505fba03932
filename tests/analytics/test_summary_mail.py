"""The weekly management summary on committed data, mailed to a real SMTP server on loopback:
each active manager and administrator with an address gets one e-mail per ISO week, naming the
week, with the PDF report of the customers they may see, also when the job runs again, after a
restart, from two workers at once and after a failed send; sales users and users without an
address get none."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from guanxi import jobs, schema
from guanxi.analytics.models import AnalysisRun, SummaryMailing
from guanxi.analytics.reports import weekly
from guanxi.audit.models import AuditEntry
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.cli import app as guanxi
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database
from tests.analytics.reports_support import pdf_text, score, scoring_run
from tests.conftest import PASSWORD, TEST_SECRET
from tests.mail_server import Inbox, smtp_server

SHANGHAI = ZoneInfo("Asia/Shanghai")


def this_monday(hour: int = 9) -> datetime:
    """Monday of the current ISO week at ``hour`` in Shanghai, in UTC: close enough to the
    real clock that rows written now fall in the mail window."""
    today = datetime.now(SHANGHAI).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(hour), SHANGHAI).astimezone(UTC)


@dataclass
class Store:
    url: str
    settings: Settings
    users: dict[str, int]

    def db(self) -> Database:
        return Database(self.url)  # a fresh Database each time: nothing survives in memory

    def run(self, *, now: datetime | None = None) -> weekly.SummaryReport:
        db = self.db()
        try:
            return weekly.send_summaries(self.settings, db, now=now or this_monday())
        finally:
            db.dispose()

    def mailings(self) -> list[tuple[str, int, bool]]:
        db = self.db()
        try:
            with db.sessions() as session:
                rows = session.execute(
                    select(
                        SummaryMailing.week, SummaryMailing.user_id, SummaryMailing.emailed_at
                    ).order_by(SummaryMailing.user_id)
                ).all()
            return [(week, user_id, emailed is not None) for week, user_id, emailed in rows]
        finally:
            db.dispose()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


def _user(session: Session, name: str, role: str, **fields: Any) -> User:
    return auth_service.create_user(
        session=session, user_in=UserCreate(username=name, password=PASSWORD, role=role, **fields)
    )


@pytest.fixture
def store(fresh_database_url: str, tmp_path: Path, inbox: Inbox) -> Iterator[Store]:
    """A manager of the east team (in Chinese), an administrator (in English), an admin without
    an address, an inactive manager, and sales reps in the east and west with a customer each,
    all scored by one run."""
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        east = auth_service.create_team(session=session, team_in=TeamCreate(name="华东"))
        west = auth_service.create_team(session=session, team_in=TeamCreate(name="华南"))
        users = {
            "manager": _user(
                session,
                "wang.fang",
                "manager",
                email="wang.fang@example.com",
                locale="zh_CN",
                team_id=east.id,
            ),
            "admin": _user(session, "boss", "admin", email="boss@example.com", locale="en"),
            "no_address": _user(session, "no.mail", "admin"),
            "gone": _user(session, "gone", "manager", email="gone@example.com", team_id=east.id),
            "east_rep": _user(
                session, "li.na", "sales", email="li.na@example.com", team_id=east.id
            ),
            "west_rep": _user(
                session, "zhao.lei", "sales", email="zhao@example.com", team_id=west.id
            ),
        }
        users["gone"].is_active = False
        run = scoring_run(session)
        # the west customer is the more profitable one: it would top the manager's Pareto
        # list if the manager saw it
        for rep, name, profit in (
            ("east_rep", "杭州青山茶业", Decimal("100")),
            ("west_rep", "广州南风茶行", Decimal("700")),
        ):
            made = customer_service.create(
                session=session, actor=users[rep], customer_in=CustomerCreate(name=name)
            )
            session.flush()
            score(session, run, made.id, tier="vip", profit=profit)
        ids = {key: user.id for key, user in users.items()}
    db.dispose()
    yield Store(
        fresh_database_url,
        Settings(
            data_dir=tmp_path,
            database_url=fresh_database_url,
            secret_key=TEST_SECRET,
            smtp_host=inbox.host,
            smtp_port=inbox.port,
            mail_from="crm@guanxi.example",
            public_url="https://crm.example.com",
            embedded_worker=False,
            timezone="Asia/Shanghai",
        ),
        ids,
    )


def _week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(SHANGHAI).isocalendar()
    return f"{year}-W{week:02d}"


def test_the_summary_is_mailed_once_a_week_to_managers_and_admins_with_an_address(
    store: Store, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store.run() == weekly.SummaryReport(mailings=2, emails=2)
    assert store.run() == weekly.SummaryReport(mailings=0, emails=0)

    # a restart on Monday morning: a fresh job queue on a fresh Database runs the periodic job
    monkeypatch.setattr(weekly, "utcnow", lambda: this_monday(10))
    db = store.db()
    queue = jobs.build_queue(store.settings, db, immediate=True)
    queue.enqueue(weekly.weekly_summary)
    db.dispose()

    week = _week(this_monday())
    assert store.mailings() == [
        (week, store.users["manager"], True),
        (week, store.users["admin"], True),
    ]
    recipients = sorted(to for tos, _ in inbox.received for to in tos)
    assert recipients == ["boss@example.com", "wang.fang@example.com"]


def test_the_mail_names_the_week_and_holds_the_pdf_of_the_readers_customers(
    store: Store, inbox: Inbox
) -> None:
    store.run()
    week = _week(this_monday())
    by_reader = {message["To"]: message for message in inbox.messages}
    manager = by_reader["wang.fang@example.com"]
    assert week in manager["Subject"] and "每周客户摘要" in manager["Subject"]
    text = manager.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert week in text and "已评分客户数: 1" in text  # the east team's one customer
    assert "https://crm.example.com/analytics/reports" in text
    html = manager.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<table>" in html and week in html
    [attachment] = list(manager.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().startswith("guanxi-report-")
    document = attachment.get_content()
    assert document.startswith(b"%PDF")
    words = pdf_text(document)
    assert "客户分析报告" in words and "杭州青山茶业" in words and "广州南风茶行" not in words

    admin = by_reader["boss@example.com"]
    assert week in admin["Subject"] and "Weekly customer summary" in admin["Subject"]
    assert "Customers scored: 2" in admin.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    everything = pdf_text(next(admin.iter_attachments()).get_content())
    assert "广州南风茶行" in everything

    db = store.db()
    with db.sessions() as session:
        audited = session.scalars(
            select(AuditEntry.changes).where(
                AuditEntry.action == "export", AuditEntry.entity_type == "analysis_report"
            )
        ).all()
    db.dispose()
    assert sorted(entry["user_id"] for entry in audited) == sorted(
        [store.users["manager"], store.users["admin"]]
    )
    assert {entry["via"] for entry in audited} == {"email"}


def test_two_workers_at_once_mail_each_reader_once(store: Store, inbox: Inbox) -> None:
    start = threading.Barrier(2)
    reports: list[weekly.SummaryReport] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            reports.append(store.run())
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(r.mailings for r in reports) == 2 and sum(r.emails for r in reports) == 2
    assert len(inbox.messages) == 2 and len(store.mailings()) == 2


def test_a_failed_send_is_retried_and_then_sent_once(store: Store, inbox: Inbox) -> None:
    inbox.refuse = True
    assert store.run() == weekly.SummaryReport(mailings=2, emails=0)
    assert [emailed for _, _, emailed in store.mailings()] == [False, False]
    inbox.refuse = False
    assert store.run() == weekly.SummaryReport(mailings=0, emails=2)
    assert store.run() == weekly.SummaryReport(mailings=0, emails=0)
    assert len(inbox.messages) == 2


def test_next_week_brings_the_next_summary(store: Store, inbox: Inbox) -> None:
    store.run()
    db = store.db()
    try:
        # a week later: the rows of this week are older than the mail window by then
        later = this_monday() + timedelta(days=7)
        written = weekly.write_mailings(store.settings, db, week=_week(later))
    finally:
        db.dispose()
    assert written == 2
    assert {week for week, _, _ in store.mailings()} == {_week(this_monday()), _week(later)}


def test_nothing_is_written_without_e_mail_or_without_a_run(
    store: Store, inbox: Inbox, fresh_database_url: str
) -> None:
    quiet = store.settings.model_copy(update={"smtp_host": ""})
    db = store.db()
    try:
        assert weekly.send_summaries(quiet, db, now=this_monday()) == weekly.SummaryReport(0, 0)
        with db.unit_of_work() as session:
            session.execute(delete(SummaryMailing))
            for run in session.scalars(select(AnalysisRun)):
                run.status = "failed"
        assert store.run() == weekly.SummaryReport(0, 0)
        with db.sessions() as session:
            assert session.scalar(select(func.count(SummaryMailing.id))) == 0
    finally:
        db.dispose()
    assert inbox.messages == []


def test_the_job_waits_for_monday_eight_oclock_company_time() -> None:
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI)
    assert weekly.due(monday, SHANGHAI)
    assert not weekly.due(monday - timedelta(minutes=1), SHANGHAI)
    assert weekly.due(monday + timedelta(hours=15, minutes=59), SHANGHAI)
    assert not weekly.due(monday + timedelta(days=1), SHANGHAI)  # Tuesday
    # 08:00 in Shanghai is still Sunday evening in London
    assert not weekly.due(monday, ZoneInfo("Europe/London"))
    assert weekly.iso_week(datetime(2027, 1, 1, 12, tzinfo=UTC), SHANGHAI) == "2026-W53"
    assert weekly.iso_week(monday, SHANGHAI) == "2026-W50"


def test_the_send_summary_command_does_the_jobs_work_now(
    store: Store, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "GUANXI_DATABASE_URL": store.url,
        "GUANXI_DATA_DIR": str(store.settings.data_dir),
        "GUANXI_SECRET_KEY": TEST_SECRET,
        "GUANXI_SMTP_HOST": inbox.host,
        "GUANXI_SMTP_PORT": str(inbox.port),
        "GUANXI_TIMEZONE": "Asia/Shanghai",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    first = runner.invoke(guanxi, ["reports", "send-summary"])
    assert first.exit_code == 0, first.output
    assert "summaries written: 2, e-mails: 2" in first.output
    again = runner.invoke(guanxi, ["reports", "send-summary"])
    assert "summaries written: 0, e-mails: 0" in again.output
    assert len(inbox.messages) == 2
    monkeypatch.setenv("GUANXI_SMTP_HOST", "")
    off = runner.invoke(guanxi, ["reports", "send-summary"])
    assert off.exit_code != 0 and "e-mail is off" in str(off.exception) + off.output
