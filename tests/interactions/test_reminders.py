"""Follow-up reminders on committed data: a follow-up falling due gives its assignee exactly one
in-app notification and one e-mail at a real SMTP server on loopback, also when the job runs
again, after a restart of the worker, from two workers at once, and after a failed send."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from guanxi import jobs, mail, schema, settings_store
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import UserCreate
from guanxi.cli import app as guanxi
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database
from guanxi.interactions.followups import reminders
from guanxi.interactions.followups import service as followups
from guanxi.interactions.followups.schemas import FollowUpCreate
from guanxi.interactions.models import FollowUp, FollowUpReminder
from guanxi.notifications.models import Notification
from tests.conftest import PASSWORD, TEST_SECRET
from tests.mail_server import Inbox, smtp_server


@dataclass
class Store:
    url: str
    settings: Settings
    user_id: int
    customer_id: int

    def db(self) -> Database:
        return Database(self.url)  # a fresh Database each time: nothing survives in memory

    def counts(self) -> tuple[int, int]:
        db = self.db()
        try:
            with db.sessions() as session:
                made = session.scalar(select(func.count(FollowUpReminder.id)))
                notes = session.scalar(select(func.count(Notification.id)))
            return int(made or 0), int(notes or 0)
        finally:
            db.dispose()

    def plan(self, due_at: datetime, subject: str = "回访春茶订单") -> int:
        db = self.db()
        try:
            with db.unit_of_work() as session:
                user = session.get(User, self.user_id)
                assert user is not None
                made = followups.create(
                    session=session,
                    actor=user,
                    follow_up_in=FollowUpCreate(
                        customer_id=self.customer_id,
                        due_at=due_at,
                        subject=subject,
                        note="问样品是否收到",
                    ),
                )
                return made.id
        finally:
            db.dispose()

    def run(self, *, now: datetime | None = None) -> reminders.RemindReport:
        db = self.db()
        try:
            return reminders.remind(self.settings, db, now=now)
        finally:
            db.dispose()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def store(fresh_database_url: str, tmp_path: Path, inbox: Inbox) -> Iterator[Store]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        user = auth_service.create_user(
            session=session,
            user_in=UserCreate(
                username="li.na",
                password=PASSWORD,
                role="sales",
                email="li.na@example.com",
                locale="zh_CN",
            ),
        )
        buyer = customer_service.create(
            session=session, actor=user, customer_in=CustomerCreate(name="杭州青山茶业")
        )
        session.flush()
        ids = (user.id, buyer.id)
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
        ),
        *ids,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_due_follow_up_is_mailed_exactly_once_across_runs_and_restarts(
    store: Store, inbox: Inbox
):
    due = store.plan(_now() - timedelta(minutes=1))
    store.plan(_now() + timedelta(hours=2))  # not due yet: no reminder

    assert store.run() == reminders.RemindReport(reminders=1, emails=1)
    assert store.run() == reminders.RemindReport(reminders=0, emails=0)

    # a restart: a fresh job queue on a fresh Database runs the periodic job itself
    db = store.db()
    queue = jobs.build_queue(store.settings, db, immediate=True)
    queue.enqueue(reminders.remind_follow_ups)
    db.dispose()

    assert store.counts() == (1, 1)
    [(recipients, message)] = inbox.received
    assert recipients == ["li.na@example.com"]
    assert "杭州青山茶业" in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "回访春茶订单" in text and "问样品是否收到" in text
    assert f"https://crm.example.com/interactions/follow-ups/{due}" in text
    assert "跟进" in text  # in the assignee's language

    db = store.db()
    with db.sessions() as session:
        note = session.scalars(select(Notification)).one()
        reminder = session.scalars(select(FollowUpReminder)).one()
    db.dispose()
    assert note.user_id == store.user_id and note.kind == "follow_up_due"
    assert note.link == f"/interactions/follow-ups/{due}"
    assert note.values["customer"] == "杭州青山茶业"
    assert reminder.follow_up_id == due and reminder.emailed_at is not None


def test_a_failed_send_is_retried_by_the_next_run_and_then_sent_once(store: Store, inbox: Inbox):
    store.plan(_now() - timedelta(minutes=5))
    inbox.refuse = True
    assert store.run() == reminders.RemindReport(reminders=1, emails=0)
    db = store.db()
    with db.sessions() as session:
        assert session.scalars(select(FollowUpReminder.emailed_at)).one() is None
    db.dispose()
    assert inbox.messages == []

    inbox.refuse = False
    assert store.run() == reminders.RemindReport(reminders=0, emails=1)
    assert store.run() == reminders.RemindReport(reminders=0, emails=0)
    assert len(inbox.messages) == 1 and store.counts() == (1, 1)


def test_two_workers_at_once_remind_and_mail_once(store: Store, inbox: Inbox):
    for minutes in (1, 2, 3):
        store.plan(_now() - timedelta(minutes=minutes), subject=f"第{minutes}次")
    start = threading.Barrier(2)
    reports: list[reminders.RemindReport] = []
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
    assert sum(r.reminders for r in reports) == 3 and sum(r.emails for r in reports) == 3
    assert store.counts() == (3, 3)
    bodies = [m.get_body(("plain",)).get_content() for m in inbox.messages]  # type: ignore[union-attr]
    assert sorted(next(s for s in ("第1次", "第2次", "第3次") if s in b) for b in bodies) == [
        "第1次",
        "第2次",
        "第3次",
    ]


def test_rescheduling_reminds_again_and_done_or_cancelled_ones_are_quiet(
    store: Store, inbox: Inbox
):
    moved = store.plan(_now() - timedelta(minutes=1))
    cancelled = store.plan(_now() - timedelta(minutes=1))
    stale = store.plan(_now() - timedelta(days=5))  # long overdue: on "my day", not mailed
    db = store.db()
    with db.unit_of_work() as session:
        follow_up = session.get(FollowUp, cancelled)
        assert follow_up is not None
        followups.cancel(session=session, follow_up=follow_up)
    db.dispose()
    assert store.run() == reminders.RemindReport(reminders=1, emails=1)

    later = _now() + timedelta(minutes=30)
    db = store.db()
    with db.unit_of_work() as session:
        follow_up = session.get(FollowUp, moved)
        assert follow_up is not None
        followups.reschedule(session=session, follow_up=follow_up, due_at=later)
    db.dispose()
    assert store.run() == reminders.RemindReport(reminders=0, emails=0)  # not due yet
    assert store.run(now=later + timedelta(seconds=1)) == reminders.RemindReport(1, 1)
    assert store.run(now=later + timedelta(minutes=1)) == reminders.RemindReport(0, 0)
    assert len(inbox.messages) == 2
    db = store.db()
    with db.sessions() as session:
        reminded = set(session.scalars(select(FollowUpReminder.follow_up_id)))
    db.dispose()
    assert reminded == {moved} and stale not in reminded


def test_with_e_mail_off_the_reminder_stays_in_the_app(store: Store, inbox: Inbox):
    store.plan(_now() - timedelta(minutes=1))
    quiet = store.settings.model_copy(update={"smtp_host": ""})
    db = store.db()
    try:
        assert reminders.remind(quiet, db) == reminders.RemindReport(reminders=1, emails=0)
    finally:
        db.dispose()
    assert store.counts() == (1, 1) and inbox.messages == []


def test_the_admins_smtp_server_sends_reminders_when_the_process_has_none(
    store: Store, inbox: Inbox
):
    store.plan(_now() - timedelta(minutes=1))
    process = store.settings.model_copy(update={"smtp_host": "", "mail_from": ""})
    db = store.db()
    try:
        with db.unit_of_work() as session:
            settings_store.put(
                session,
                mail.SETTINGS_KEY,
                {
                    "smtp_host": inbox.host,
                    "smtp_port": inbox.port,
                    "mail_from": "Guanxi <crm@shop.example>",
                },
            )
        assert reminders.remind(process, db) == reminders.RemindReport(reminders=1, emails=1)
    finally:
        db.dispose()
    assert [m["From"] for m in inbox.messages] == ["Guanxi <crm@shop.example>"]


def test_an_assignee_who_lost_sight_of_the_customer_is_not_told(store: Store, inbox: Inbox):
    store.plan(_now() - timedelta(minutes=1))
    db = store.db()
    with db.unit_of_work() as session:
        colleague = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="zhao.lei", password=PASSWORD, role="sales"),
        )
        buyer = session.get(Customer, store.customer_id)
        assert buyer is not None
        buyer.owner_id = colleague.id  # handed over: li.na (sales, own records) no longer sees it
    db.dispose()
    assert store.run() == reminders.RemindReport(reminders=1, emails=0)
    assert store.counts() == (1, 0) and inbox.messages == []
    assert store.run() == reminders.RemindReport(reminders=0, emails=0)


def test_the_remind_command_does_the_jobs_work_on_demand(
    store: Store, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
):
    store.plan(_now() + timedelta(hours=1))
    for name, value in {
        "GUANXI_DATABASE_URL": store.url,
        "GUANXI_DATA_DIR": str(store.settings.data_dir),
        "GUANXI_SECRET_KEY": TEST_SECRET,
        "GUANXI_SMTP_HOST": inbox.host,
        "GUANXI_SMTP_PORT": str(inbox.port),
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    now = runner.invoke(guanxi, ["follow-ups", "remind"])
    assert now.exit_code == 0, now.output
    assert "reminders: 0, e-mails: 0" in now.output
    later = (_now() + timedelta(hours=1, minutes=1)).strftime("%Y-%m-%dT%H:%M")
    caught_up = runner.invoke(guanxi, ["follow-ups", "remind", "--now", later])
    assert caught_up.exit_code == 0, caught_up.output
    assert "reminders: 1, e-mails: 1" in caught_up.output
    assert len(inbox.messages) == 1
    bad = runner.invoke(guanxi, ["follow-ups", "remind", "--now", "soon"])
    assert bad.exit_code != 0 and "YYYY-MM-DDTHH:MM" in str(bad.exception)
