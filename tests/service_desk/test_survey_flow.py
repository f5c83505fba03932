"""From resolution to answer on committed data: resolving a ticket through the ticket service
queues the survey mail, the job queue sends it through a real SMTP server once (a reopen and a
second resolution send nothing more), and the link in the mail opens the form and answers once."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from guanxi import jobs, schema
from guanxi.app import create_app
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.service_desk import service as ticket_service
from guanxi.service_desk.models import Survey
from guanxi.service_desk.schemas import TicketCreate
from tests.conftest import PASSWORD, TEST_SECRET
from tests.mail_server import smtp_server
from tests.service_desk import survey_support as support


def test_resolution_mails_a_link_that_answers_once(fresh_database_url: str, tmp_path: Path) -> None:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with smtp_server() as inbox:
        settings = Settings(
            data_dir=tmp_path,
            database_url=fresh_database_url,
            secret_key=TEST_SECRET,
            embedded_worker=False,
            default_locale="en",
            smtp_host=inbox.host,
            smtp_port=inbox.port,
            mail_from="service@guanxi.example",
            public_url="https://crm.example.com",
        )
        jobs.install(jobs.build_queue(settings, db, immediate=True))
        try:
            with db.unit_of_work() as session:
                admin = auth_service.create_user(
                    session=session,
                    user_in=UserCreate(username="boss", password=PASSWORD, role="admin"),
                )
                customer_id = support.customer(session, admin, "刘洋", email="liu@example.com")
                ticket = ticket_service.create_ticket(
                    session,
                    actor=admin,
                    ticket_in=TicketCreate(
                        customer_id=customer_id, kind="complaint", subject="冰箱噪音大"
                    ),
                    settings=settings,
                )
                ticket_id = ticket.id
            for status in ("resolved", "in_progress", "resolved"):
                with db.unit_of_work() as session:
                    found = ticket_service.get_visible_ticket(session, admin, ticket_id)
                    ticket_service.change_status(session, actor=admin, ticket=found, status=status)
        finally:
            jobs.install(None)

    try:
        [(recipients, message)] = inbox.received
        assert recipients == ["liu@example.com"]
        assert "冰箱噪音大" in str(message["Subject"])
        found_link = re.search(r"https://crm\.example\.com(/survey/\S+)", message.get_content())
        assert found_link
        path = found_link.group(1)
        with db.sessions() as session:
            assert session.scalar(select(func.count(Survey.id))) == 1

        client = TestClient(
            create_app(settings, database=db, embedded_worker=False),
            base_url="https://crm.example.com",
        )
        form = client.get(path, headers={"Accept-Language": "zh-CN"})
        assert form.status_code == 200 and "冰箱噪音大" in form.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        answer = {"csrf_token": token.group(1), "csat": "1", "nps": "2", "comment": "还是响"}
        assert client.post(path, data=answer).status_code == 200
        assert client.post(path, data=answer).status_code == 410
        with db.sessions() as session:
            survey = session.scalars(select(Survey)).one()
            assert (survey.ticket_id, survey.csat, survey.nps) == (ticket_id, 1, 2)
    finally:
        db.dispose()
