"""``guanxi portal link ADDRESS``: an operator hands a customer a one-time portal sign-in link
when their mail does not arrive (and the demo, which has no mail server, uses it); and
``guanxi service sla-scan``, the SLA scan run at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from guanxi.audit.models import AuditEntry
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import UserCreate
from guanxi.cli import app
from guanxi.cli_support import CliError
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database, utcnow
from guanxi.errors import Gone
from guanxi.service_desk import service
from guanxi.service_desk.models import Ticket
from guanxi.service_desk.portal import auth
from guanxi.service_desk.schemas import TicketCreate


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    values = {
        "GUANXI_DATABASE_URL": fresh_database_url,
        "GUANXI_DATA_DIR": str(tmp_path),
        "GUANXI_PUBLIC_URL": "https://crm.example.cn",
        "COLUMNS": "200",
    }
    upgraded = CliRunner().invoke(app, ["db", "upgrade"], env=values)
    assert upgraded.exit_code == 0, upgraded.output
    db = Database(fresh_database_url)
    with db.unit_of_work() as session:
        admin = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="admin", password="a long enough password", role="admin"),
        )
        customer_service.create(
            session=session,
            actor=admin,
            customer_in=CustomerCreate(name="王芳", emails=["wang.fang@example.cn"]),
        )
    db.dispose()
    return values


def test_an_operator_gets_a_link_that_signs_the_customer_in_once(env: dict[str, str]):
    result = CliRunner().invoke(app, ["portal", "link", "Wang.Fang@Example.cn"], env=env)
    assert result.exit_code == 0, result.output
    url = next(w for w in result.output.split() if w.startswith("https://"))
    assert url.startswith("https://crm.example.cn/portal/login/")
    token = url.rsplit("/", 1)[1]
    db = Database(env["GUANXI_DATABASE_URL"])
    try:
        with db.unit_of_work() as session:
            portal_session, _cookie = auth.redeem_link(session, token=token, ip_address="")
            assert portal_session.email_address == "wang.fang@example.cn"
            entry = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "portal_link_issued")
            ).one()
            assert entry.entity_id == str(portal_session.customer_id)
            assert entry.actor_username.startswith("cli:")
        with db.unit_of_work() as session, pytest.raises(Gone):
            auth.redeem_link(session, token=token, ip_address="")
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("nobody@example.cn", "nobody@example.cn: no customer has this e-mail address"),
        ("not an address", "not an address: Enter an e-mail address."),
    ],
)
def test_an_unknown_or_malformed_address_is_refused_by_name(
    env: dict[str, str], address: str, message: str
):
    result = CliRunner().invoke(app, ["portal", "link", address], env=env)
    # guanxi.cli.main prints a CliError as one line on stderr and exits with 1
    assert isinstance(result.exception, CliError)
    assert message in str(result.exception)


def test_the_sla_scan_runs_from_the_command_line_and_escalates_once(env: dict[str, str]):
    db = Database(env["GUANXI_DATABASE_URL"])
    try:
        with db.unit_of_work() as session:
            admin = session.scalars(select(User).where(User.username == "admin")).one()
            buyer = session.scalars(select(Customer)).one()
            late = service.create_ticket(
                session,
                actor=admin,
                ticket_in=TicketCreate(
                    customer_id=buyer.id, kind="complaint", subject="冰箱漏水", priority="urgent"
                ),
            )
            late.resolution_due = utcnow() - timedelta(minutes=5)
            late_id = late.id
    finally:
        db.dispose()
    first = CliRunner().invoke(app, ["service", "sla-scan"], env=env)
    assert first.exit_code == 0, first.output
    assert "1 escalations claimed" in first.output
    again = CliRunner().invoke(app, ["service", "sla-scan"], env=env)
    assert "0 warnings and 0 escalations claimed" in again.output
    db = Database(env["GUANXI_DATABASE_URL"])
    try:
        with db.unit_of_work() as session:
            assert session.get_one(Ticket, late_id).resolution_escalated_at is not None
    finally:
        db.dispose()
