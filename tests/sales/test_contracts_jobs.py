"""The contract job on committed data: statuses kept current, and a contract crossing its
warning threshold gives its owner exactly one reminder, one notification and one e-mail, also
when the job runs again, after a restart, and from two workers at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from guanxi import jobs, schema
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database
from guanxi.notifications.models import Notification
from guanxi.sales.contracts import jobs as contract_jobs
from guanxi.sales.contracts import service
from guanxi.sales.contracts.schemas import ContractCreate
from guanxi.sales.models import Contract, ContractReminder
from tests.conftest import PASSWORD, TEST_SECRET
from tests.mail_server import Inbox, smtp_server

TODAY = date.today()


@dataclass
class Store:
    url: str
    settings: Settings
    owner_id: int

    def counts(self) -> tuple[int, int]:
        db = Database(self.url)
        try:
            with db.sessions() as session:
                reminders = session.scalar(select(func.count(ContractReminder.id)))
                notes = session.scalar(select(func.count(Notification.id)))
            return int(reminders or 0), int(notes or 0)
        finally:
            db.dispose()

    def contract(self, contract_id: int) -> Contract:
        db = Database(self.url)
        try:
            with db.sessions() as session:
                found = session.get(Contract, contract_id)
                assert found is not None
                return found
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
        team = auth_service.create_team(session=session, team_in=TeamCreate(name="East"))
        owner = auth_service.create_user(
            session=session,
            user_in=UserCreate(
                username="wang.fang",
                password=PASSWORD,
                role="sales",
                team_id=team.id,
                email="wang.fang@example.com",
                locale="zh_CN",
            ),
        )
        owner_id = owner.id
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
            embedded_worker=False,
        ),
        owner_id,
    )


def _contract(store: Store, *, ends_in: int, warning_days: int | None = None) -> int:
    db = Database(store.url)
    with db.unit_of_work() as session:
        owner = session.get(User, store.owner_id)
        assert owner is not None
        buyer = customer_service.create(
            session=session, actor=owner, customer_in=CustomerCreate(name="杭州青山茶业")
        )
        session.flush()
        contract = service.create(
            session=session,
            actor=owner,
            settings=store.settings,
            contract_in=ContractCreate(
                title="年度供货合同",
                customer_id=buyer.id,
                amount=Decimal("88000.00"),
                start_date=TODAY - timedelta(days=300),
                end_date=TODAY + timedelta(days=ends_in),
                signed_on=TODAY - timedelta(days=300),
                warning_days=warning_days,
            ),
        )
        contract_id = contract.id
    db.dispose()
    return contract_id


def _run(store: Store, settings: Settings | None = None, **kwargs: date) -> object:
    db = Database(store.url)  # a fresh Database each time: nothing survives in memory
    try:
        return contract_jobs.refresh(settings or store.settings, db, **kwargs)
    finally:
        db.dispose()


def test_crossing_the_threshold_warns_exactly_once_across_runs_and_restarts(
    store: Store, inbox: Inbox
):
    contract_id = _contract(store, ends_in=40)
    _run(store)
    assert store.contract(contract_id).status == "active"
    assert store.counts() == (0, 0) and inbox.messages == []

    # the company widens its warning period: the contract is now inside the window
    widened = store.settings.model_copy(update={"contract_warning_days": 45})
    first = _run(store, widened)
    assert first == contract_jobs.RefreshReport(statuses_changed=1, reminders=1, emails=1)
    assert store.contract(contract_id).status == "expiring"
    _run(store, widened)

    # a restart: a fresh job queue on a fresh Database runs the periodic job itself
    db = Database(store.url)
    queue = jobs.build_queue(widened, db, immediate=True)
    queue.enqueue(contract_jobs.refresh_contracts)
    db.dispose()

    assert store.counts() == (1, 1)
    [(recipients, message)] = inbox.received
    assert recipients == ["wang.fang@example.com"]
    number = store.contract(contract_id).number
    assert number in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "杭州青山茶业" in text and f"/sales/contracts/{contract_id}" in text
    assert "合同" in text  # in the owner's language

    db = Database(store.url)
    with db.sessions() as session:
        note = session.scalars(select(Notification)).one()
        reminder = session.scalars(select(ContractReminder)).one()
    db.dispose()
    assert note.user_id == store.owner_id and note.kind == "contract_expiring"
    assert note.link == f"/sales/contracts/{contract_id}"
    assert note.values["number"] == number
    assert reminder.kind == "expiring" and reminder.emailed_at is not None


def test_the_threshold_day_itself_warns_and_the_day_before_does_not(store: Store):
    contract_id = _contract(store, ends_in=100, warning_days=30)
    end = TODAY + timedelta(days=100)
    _run(store, today=end - timedelta(days=31))
    assert store.counts() == (0, 0)
    _run(store, today=end - timedelta(days=30))
    assert store.counts() == (1, 1)
    assert store.contract(contract_id).status == "expiring"
    _run(store, today=end)  # the end day: still expiring, nothing new
    assert store.counts() == (1, 1)
    _run(store, today=end + timedelta(days=1))  # the day after: expired, one more notice
    assert store.contract(contract_id).status == "expired"
    assert store.counts() == (2, 2)
    _run(store, today=end + timedelta(days=2))
    assert store.counts() == (2, 2)


def test_mail_left_unsent_by_a_crash_or_refusal_is_sent_later_exactly_once(
    store: Store, inbox: Inbox
):
    _contract(store, ends_in=10)
    # e-mail off at first (as after a crash between the reminder's commit and the mail)
    _run(store, store.settings.model_copy(update={"smtp_host": ""}))
    assert store.counts() == (1, 1) and inbox.messages == []
    inbox.refuse = True
    assert _run(store).emails == 0  # type: ignore[attr-defined]
    inbox.refuse = False
    assert _run(store).emails == 1  # type: ignore[attr-defined]
    assert _run(store).emails == 0  # type: ignore[attr-defined]
    assert len(inbox.messages) == 1 and store.counts() == (1, 1)


def test_two_workers_at_once_still_warn_once(store: Store, inbox: Inbox):
    for _ in range(3):
        _contract(store, ends_in=5)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            _run(store)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert store.counts() == (3, 3)
    assert len(inbox.messages) == 3


def test_a_renewed_or_terminated_contract_is_not_warned(store: Store):
    renewed = _contract(store, ends_in=10)
    db = Database(store.url)
    with db.unit_of_work() as session:
        contract = session.get(Contract, renewed)
        assert contract is not None
        contract.status = "renewed"
    db.dispose()
    _run(store)
    assert store.counts() == (0, 0)
    assert store.contract(renewed).status == "renewed"


def test_the_refresh_command_does_the_jobs_work_on_demand(store: Store, inbox: Inbox):
    _contract(store, ends_in=100)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANXI_")}
    env.update(
        GUANXI_DATABASE_URL=store.url,
        GUANXI_DATA_DIR=str(store.settings.data_dir),
        GUANXI_SECRET_KEY=TEST_SECRET,
        GUANXI_SMTP_HOST=inbox.host,
        GUANXI_SMTP_PORT=str(inbox.port),
    )
    day = (TODAY + timedelta(days=75)).isoformat()
    command = [sys.executable, "-m", "guanxi", "contracts", "refresh", "--today", day]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "statuses changed: 1, reminders: 1, e-mails: 1" in done.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "statuses changed: 0, reminders: 0, e-mails: 0" in again.stdout
    assert store.counts() == (1, 1) and len(inbox.messages) == 1
    bad = subprocess.run(
        [*command[:-1], "soon"], env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr
