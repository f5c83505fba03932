"""The SLA scan on committed data: a warning before a target is missed and an escalation when it
is, each told once in the app and once by e-mail, also when the scan runs again, after a
restart (a fresh Database and job queue) and from two workers at once; paused and finished
tickets are left alone; the candidates are read through the (status, due) indexes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from guanxi import jobs, schema
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database
from guanxi.notifications.models import Notification
from guanxi.service_desk import jobs as sla_jobs
from guanxi.service_desk import sla
from guanxi.service_desk.models import ServiceQueue, Ticket, TicketChange
from tests.conftest import PASSWORD, TEST_SECRET
from tests.mail_server import Inbox, smtp_server

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 28 September 2026 in Shanghai: a normal-priority ticket opened at 09:00 owes its
# first response at 14:00 (240 business minutes, lunch 12:00-13:00 excluded) and is warned
# 60 business minutes before


def at(day: int, hour: int, minute: int = 0, month: int = 9) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Desk:
    url: str
    settings: Settings
    agent_id: int
    queue_manager_id: int
    team_manager_id: int
    customer_id: int

    def run(self, now: datetime) -> sla_jobs.ScanReport:
        db = Database(self.url)  # a fresh Database each time: nothing survives in memory
        try:
            return sla_jobs.scan(self.settings, db, now=now)
        finally:
            db.dispose()

    def ticket(self, *, queue: bool = True, assigned: bool = True, **fields: object) -> int:
        db = Database(self.url)
        try:
            with db.unit_of_work() as session:
                queue_id = None
                if queue:
                    queue_id = session.scalar(
                        select(ServiceQueue.id).where(ServiceQueue.name == "售后")
                    )
                ticket = Ticket(
                    kind="complaint",
                    subject="洗衣机漏水",
                    priority="normal",
                    customer_id=self.customer_id,
                    created_at=at(28, 9),
                    queue_id=queue_id,
                    assignee_id=self.agent_id if assigned else None,
                    status="assigned" if assigned else "new",
                    **fields,
                )
                session.add(ticket)
                sla.start(session, ticket, at(28, 9))
                session.flush()
                assert ticket.first_response_due == at(28, 14)
                return ticket.id
        finally:
            db.dispose()

    def notes(self) -> list[tuple[int, str, str]]:
        db = Database(self.url)
        try:
            with db.sessions() as session:
                rows = session.execute(
                    select(Notification.user_id, Notification.kind, Notification.link).order_by(
                        Notification.id
                    )
                ).all()
            return [tuple(row) for row in rows]  # type: ignore[misc]
        finally:
            db.dispose()

    def with_session(self) -> Iterator[Session]:
        db = Database(self.url)
        try:
            with db.unit_of_work() as session:
                yield session
        finally:
            db.dispose()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def desk(fresh_database_url: str, tmp_path: Path, inbox: Inbox) -> Iterator[Desk]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        team = auth_service.create_team(session=session, team_in=TeamCreate(name="华东服务"))

        def user(name: str, role: str, **extra: object) -> int:
            made = auth_service.create_user(
                session=session,
                user_in=UserCreate(
                    username=name,
                    password=PASSWORD,
                    role=role,
                    team_id=team.id,
                    email=f"{name}@example.com",
                    **extra,  # type: ignore[arg-type]
                ),
            )
            return made.id

        agent = user("li.na", "service", locale="zh_CN")
        queue_manager = user("zhao.lei", "manager")
        team_manager = user("chen.jing", "manager")
        session.add(ServiceQueue(name="售后", manager_id=queue_manager))
        actor = session.get(User, agent)
        assert actor is not None
        buyer = customer_service.create(
            session=session, actor=actor, customer_in=CustomerCreate(name="上海明德贸易")
        )
        session.flush()
        customer_id = buyer.id
    db.dispose()
    yield Desk(
        fresh_database_url,
        Settings(
            data_dir=tmp_path,
            database_url=fresh_database_url,
            secret_key=TEST_SECRET,
            smtp_host=inbox.host,
            smtp_port=inbox.port,
            mail_from="crm@guanxi.example",
            embedded_worker=False,
        ),
        agent,
        queue_manager,
        team_manager,
        customer_id,
    )


def test_a_warning_and_an_escalation_are_each_sent_once_across_restarts(
    desk: Desk, inbox: Inbox
) -> None:
    ticket_id = desk.ticket()
    link = f"/service/tickets/{ticket_id}"
    # 12:30: 90 business minutes left, more than the 60 the policy warns at
    assert desk.run(at(28, 12, 30)) == sla_jobs.ScanReport(0, 0, 0)
    # 13:10: 50 minutes left -> the assignee is warned, in the app and by e-mail
    assert desk.run(at(28, 13, 10)) == sla_jobs.ScanReport(1, 0, 1)
    assert desk.run(at(28, 13, 20)) == sla_jobs.ScanReport(0, 0, 0)
    assert desk.notes() == [(desk.agent_id, "sla_warning", link)]
    [(recipients, warning)] = inbox.received
    assert recipients == ["li.na@example.com"]
    assert str(ticket_id) in warning["Subject"]
    body = warning.get_body(("plain",))
    assert body is not None and link in body.get_content()
    assert "2026-09-28 14:00" in body.get_content()  # on the agent's clock (Shanghai)

    # 14:05: the first response is missed -> the queue's manager is told, once
    assert desk.run(at(28, 14, 5)) == sla_jobs.ScanReport(0, 1, 1)
    assert desk.run(at(28, 14, 6)) == sla_jobs.ScanReport(0, 0, 0)
    assert desk.notes()[1:] == [(desk.queue_manager_id, "sla_breach", link)]
    assert inbox.received[1][0] == ["zhao.lei@example.com"]

    # a restart: a fresh job queue on a fresh Database runs the periodic job itself, now
    # (December 2026): the response is done with; the resolution (due Wednesday 30 September)
    # is missed too and escalated without a late warning
    db = Database(desk.url)
    queue = jobs.build_queue(desk.settings, db, immediate=True)
    queue.enqueue(sla_jobs.scan_sla)
    queue.enqueue(sla_jobs.scan_sla)
    db.dispose()
    assert desk.notes()[2:] == [(desk.queue_manager_id, "sla_breach", link)]
    assert len(inbox.received) == 3

    for session in desk.with_session():
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.response_warned_at == at(28, 13, 10)
        assert ticket.response_escalated_at == at(28, 14, 5)
        assert ticket.resolution_warned_at is not None
        assert ticket.resolution_escalated_at == ticket.resolution_warned_at
        history = session.scalars(
            select(TicketChange.new_value)
            .where(TicketChange.ticket_id == ticket_id, TicketChange.actor_label == "system")
            .order_by(TicketChange.id)
        ).all()
        assert history == ["warned", "escalated", "escalated"]


def test_two_workers_at_once_still_tell_once(desk: Desk, inbox: Inbox) -> None:
    for _ in range(4):
        desk.ticket()
    errors: list[BaseException] = []
    reports: list[sla_jobs.ScanReport] = []

    def work() -> None:
        try:
            reports.append(desk.run(at(28, 14, 30)))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert errors == []
    assert sum(report.escalations for report in reports) == 4
    assert sum(report.emails for report in reports) == 4
    assert [kind for _, kind, _ in desk.notes()] == ["sla_breach"] * 4
    assert len(inbox.messages) == 4
    assert desk.run(at(28, 14, 31)) == sla_jobs.ScanReport(0, 0, 0)


def test_who_is_told_without_an_assignee_or_a_queue_manager(desk: Desk) -> None:
    unassigned = desk.ticket(assigned=False)
    no_queue = desk.ticket(queue=False)
    desk.run(at(28, 13, 10))
    # nobody assigned: the queue's manager is warned; no queue: the assignee is
    assert sorted(desk.notes()) == sorted(
        [
            (desk.queue_manager_id, "sla_warning", f"/service/tickets/{unassigned}"),
            (desk.agent_id, "sla_warning", f"/service/tickets/{no_queue}"),
        ]
    )
    desk.run(at(28, 14, 5))
    # no queue manager: the assignee's team managers hear of the breach
    breaches = [(user, link) for user, kind, link in desk.notes() if kind == "sla_breach"]
    assert sorted(breaches) == sorted(
        [
            (desk.queue_manager_id, f"/service/tickets/{unassigned}"),
            (desk.queue_manager_id, f"/service/tickets/{no_queue}"),
            (desk.team_manager_id, f"/service/tickets/{no_queue}"),
        ]
    )


def test_paused_answered_and_finished_tickets_are_left_alone(desk: Desk, inbox: Inbox) -> None:
    waiting = desk.ticket()
    answered = desk.ticket()
    resolved = desk.ticket()
    for session in desk.with_session():
        for ticket_id, status in [(waiting, "waiting"), (resolved, "resolved")]:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            old, ticket.status = ticket.status, status
            sla.on_status_change(session, ticket, old, status, at(28, 10))
        ticket = session.get(Ticket, answered)
        assert ticket is not None
        sla.record_first_response(ticket, at(28, 10))
    assert desk.run(at(28, 14, 30)) == sla_jobs.ScanReport(0, 0, 0)
    assert desk.notes() == [] and inbox.messages == []

    # the customer answers: the clock runs again from the minutes it had left
    for session in desk.with_session():
        ticket = session.get(Ticket, waiting)
        assert ticket is not None
        ticket.status = "in_progress"
        sla.on_status_change(session, ticket, "waiting", "in_progress", at(29, 9))
        assert ticket.first_response_due == at(29, 12)  # 180 minutes were left at 10:00
    assert desk.run(at(29, 10, 30)) == sla_jobs.ScanReport(0, 0, 0)
    assert desk.run(at(29, 11, 5)) == sla_jobs.ScanReport(1, 0, 1)


def test_the_scan_reads_the_due_time_indexes(fresh_database_url: str) -> None:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    try:
        for target, index in [
            (sla_jobs.TARGETS[0], "ix_tickets_status_response_due"),
            (sla_jobs.TARGETS[1], "ix_tickets_status_resolution_due"),
        ]:
            stmt = sla_jobs.due_before(target, at(28, 12))
            compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
            with db.engine.connect() as connection:
                if db.engine.dialect.name == "sqlite":
                    plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
                else:
                    # an empty table is read whole unless that is made to look expensive
                    connection.execute(text("SET enable_seqscan = off"))
                    plan = connection.exec_driver_sql(f"EXPLAIN {compiled}").all()
            assert index in " ".join(str(row) for row in plan), plan
    finally:
        db.dispose()


def test_the_scan_is_a_periodic_job_every_two_minutes(
    settings: Settings, database: Database
) -> None:
    queue = jobs.build_queue(settings, database, immediate=True)
    name = "guanxi.service_desk.jobs.scan_sla"
    assert name in {t.name for t in queue.huey.read_periodic(datetime(2026, 9, 28, 2, 4))}
    assert name not in {t.name for t in queue.huey.read_periodic(datetime(2026, 9, 28, 2, 5))}


def test_many_due_tickets_in_batches_are_each_told_once(
    desk: Desk, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sla_jobs, "BATCH", 5)  # 12 tickets: three claims of 5, 5 and 2
    ids = [desk.ticket() for _ in range(12)]
    assert desk.run(at(28, 13, 10)) == sla_jobs.ScanReport(12, 0, 12)
    assert desk.run(at(28, 13, 20)) == sla_jobs.ScanReport(0, 0, 0)
    links = [link for _, kind, link in desk.notes() if kind == "sla_warning"]
    assert sorted(links) == sorted(f"/service/tickets/{ticket_id}" for ticket_id in ids)
    assert len(inbox.messages) == 12
    for session in desk.with_session():
        history = session.execute(
            select(TicketChange.ticket_id, TicketChange.new_value).where(
                TicketChange.actor_label == "system"
            )
        ).all()
        assert sorted(history) == [(ticket_id, "warned") for ticket_id in sorted(ids)]


def test_a_batch_that_fails_claims_nothing_and_the_next_run_tells(
    desk: Desk, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sla_jobs, "BATCH", 3)
    ids = [desk.ticket() for _ in range(3)]
    values = sla_jobs._values
    seen: list[int] = []

    def crash_on_the_third(
        ticket: Ticket, due: datetime, user: User, company: ZoneInfo
    ) -> dict[str, str]:
        seen.append(ticket.id)
        if len(seen) == 3:
            raise RuntimeError("worker died")
        return values(ticket, due, user, company)

    monkeypatch.setattr(sla_jobs, "_values", crash_on_the_third)
    with pytest.raises(RuntimeError):
        desk.run(at(28, 13, 10))
    # the claims and the first two tickets' notices rolled back together
    assert desk.notes() == [] and inbox.messages == []
    for session in desk.with_session():
        warned = session.scalars(select(Ticket.response_warned_at).where(Ticket.id.in_(ids)))
        assert list(warned) == [None, None, None]

    monkeypatch.setattr(sla_jobs, "_values", values)
    assert desk.run(at(28, 13, 12)) == sla_jobs.ScanReport(3, 0, 3)
    assert [kind for _, kind, _ in desk.notes()] == ["sla_warning"] * 3
