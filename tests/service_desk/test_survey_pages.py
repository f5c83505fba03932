"""The survey page a customer opens from the mail, without signing in: it answers once, then
410 Gone; an expired link 410; a tampered one 404; bad answers keep what was typed; two
submissions at once record exactly one."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi import schema
from guanxi.app import create_app
from guanxi.audit.models import AuditEntry
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.db import Database, utcnow
from guanxi.service_desk import surveys
from guanxi.service_desk.models import Survey
from tests.conftest import PASSWORD, TEST_SECRET, People
from tests.service_desk import survey_support as support


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    marker = 'name="csrf_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def _survey(session: Session, people: People, **fields: object) -> Survey:
    rep = people.user("sales")
    customer_id = support.customer(session, rep.user, "王芳", email="wang@example.com")
    ticket = support.ticket(session, customer_id, subject="空调漏水")
    return support.survey(session, ticket, **fields)  # type: ignore[arg-type]


def test_a_link_works_once_then_answers_410(
    client: TestClient, session: Session, people: People, settings: Settings
) -> None:
    survey = _survey(session, people)
    path = f"/survey/{surveys.token_for(settings, survey)}"
    session.flush()

    form = client.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert form.status_code == 200
    assert "空调漏水" in form.text and 'name="nps" value="10"' in form.text
    token = _csrf(client, path)

    sent = client.post(path, data={"csrf_token": token, "csat": "4", "nps": "9", "comment": "好"})
    assert sent.status_code == 200, sent.text
    session.refresh(survey)
    assert (survey.csat, survey.nps, survey.comment) == (4, 9, "好")
    assert survey.answered_at is not None
    logged = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "survey.answer", AuditEntry.entity_id == str(survey.id)
        )
    ).one()
    assert logged.actor_username == "survey-link"

    again = client.post(path, data={"csrf_token": token, "csat": "1", "nps": "0"})
    assert again.status_code == 410
    assert client.get(path).status_code == 410
    session.refresh(survey)
    assert (survey.csat, survey.nps) == (4, 9)


def test_expired_410_and_tampered_404(
    client: TestClient, session: Session, people: People, settings: Settings
) -> None:
    expired = _survey(session, people, sent_at=utcnow() - timedelta(days=surveys.VALID_DAYS + 1))
    session.flush()
    path = f"/survey/{surveys.token_for(settings, expired)}"
    page = client.get(path, headers={"Accept-Language": "en"})
    assert page.status_code == 410
    assert "expired" in page.text
    token = _csrf(client, "/login")
    assert client.post(path, data={"csrf_token": token, "csat": "5"}).status_code == 410

    tampered = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    assert client.get(tampered).status_code == 404
    assert client.post(tampered, data={"csrf_token": token, "csat": "5"}).status_code == 404
    assert client.get("/survey/not-a-token").status_code == 404


def test_bad_answer_keeps_what_was_typed(
    client: TestClient, session: Session, people: People, settings: Settings
) -> None:
    survey = _survey(session, people)
    session.flush()
    path = f"/survey/{surveys.token_for(settings, survey)}"
    token = _csrf(client, path)
    refused = client.post(
        path,
        data={"csrf_token": token, "csat": "9", "nps": "7", "comment": "等了三天"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422
    assert "等了三天" in refused.text and "from 1 to 5" in refused.text
    assert 'value="7" checked' in refused.text
    session.refresh(survey)
    assert survey.answered_at is None


def test_the_form_needs_its_csrf_token(
    client: TestClient, session: Session, people: People, settings: Settings
) -> None:
    survey = _survey(session, people)
    session.flush()
    path = f"/survey/{surveys.token_for(settings, survey)}"
    client.get(path)
    assert client.post(path, data={"csat": "5"}).status_code == 403
    assert client.post(path, data={"csrf_token": "forged", "csat": "5"}).status_code == 403
    session.refresh(survey)
    assert survey.answered_at is None


def test_two_submissions_at_once_record_one(fresh_database_url: str, tmp_path: object) -> None:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    settings = Settings(
        data_dir=tmp_path,  # type: ignore[arg-type]
        database_url=fresh_database_url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
    )
    try:
        with db.sessions() as session:
            owner = auth_service.create_user(
                session=session,
                user_in=UserCreate(username="rep", password=PASSWORD, role="sales"),
            )
            customer_id = support.customer(session, owner, "并发客户", email="c@example.com")
            survey = support.survey(session, support.ticket(session, customer_id))
            session.commit()
            path = f"/survey/{surveys.token_for(settings, survey)}"
        app = create_app(settings, database=db, embedded_worker=False)
        clients = [TestClient(app, base_url="http://testserver") for _ in range(2)]
        tokens = [_csrf(client, path) for client in clients]
        start = threading.Barrier(2)
        statuses: dict[int, int] = {}

        def submit(index: int) -> None:
            start.wait()
            answer = {"csrf_token": tokens[index], "csat": str(index + 1), "nps": "5"}
            statuses[index] = clients[index].post(path, data=answer).status_code

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses.values()) == [200, 410]
        with db.sessions() as session:
            stored = session.scalars(select(Survey)).one()
            winner = next(index for index, code in statuses.items() if code == 200)
            assert stored.csat == winner + 1 and stored.answered_at is not None
    finally:
        db.dispose()


@pytest.mark.parametrize("path", ["/survey/x"])
def test_the_survey_is_public(client: TestClient, path: str) -> None:
    # no sign-in asked: a forged link answers 404, not a redirect to the login page
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
