"""The survey service: one survey per resolved ticket, mailed once through a real SMTP server
and logged on the timeline; its signed link opens it, answers it once and refuses after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from guanxi import jobs
from guanxi.config import Settings
from guanxi.db import utcnow
from guanxi.errors import Gone, InvalidInput, NotFound
from guanxi.interactions.models import Interaction
from guanxi.service_desk import surveys
from guanxi.service_desk.models import Survey
from tests.conftest import People
from tests.mail_server import smtp_server
from tests.service_desk import survey_support as support


def _count(session: Session, ticket_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Survey.ticket_id == ticket_id)) or 0)


def test_resolving_creates_one_survey_and_queues_its_mail(session: Session, people: People) -> None:
    rep = people.user("sales")
    customer_id = support.customer(session, rep.user, "王芳", email="wang.fang@example.com")
    ticket = support.ticket(session, customer_id)

    surveys.on_resolved(session, ticket)
    surveys.on_resolved(session, ticket)  # resolved again after a reopen

    assert _count(session, ticket.id) == 1
    made = session.scalars(select(Survey).where(Survey.ticket_id == ticket.id)).one()
    assert made.email_address == "wang.fang@example.com"
    assert made.expires_at - made.sent_at == timedelta(days=surveys.VALID_DAYS)
    queued = session.info[jobs._AFTER_COMMIT_KEY]
    assert [(function, kwargs) for function, kwargs, _ in queued] == [
        (surveys.send_survey_mail, {"survey_id": made.id})
    ]


def test_no_survey_without_an_address_or_for_a_merged_ticket(
    session: Session, people: People
) -> None:
    rep = people.user("sales")
    silent = support.customer(session, rep.user, "李雷")
    surveys.on_resolved(session, support.ticket(session, silent))
    mailed = support.customer(session, rep.user, "韩梅梅", email="han@example.com")
    first = support.ticket(session, mailed)
    merged = support.ticket(session, mailed, merged_into_id=first.id)
    surveys.on_resolved(session, merged)

    assert session.scalar(select(func.count(Survey.id)).where(Survey.customer_id == silent)) == 0
    assert _count(session, merged.id) == 0


def test_the_mail_carries_a_link_that_opens_the_survey_and_is_logged(
    session: Session, sessions: sessionmaker[Session], people: People, settings: Settings
) -> None:
    rep = people.user("sales")
    customer_id = support.customer(session, rep.user, "张伟", email="zhang.wei@example.com")
    ticket = support.ticket(session, customer_id, language="en", subject="Heater broken")
    surveys.on_resolved(session, ticket)
    survey = session.scalars(select(Survey).where(Survey.ticket_id == ticket.id)).one()
    session.commit()

    with smtp_server() as inbox:
        mailing = settings.model_copy(
            update={
                "smtp_host": inbox.host,
                "smtp_port": inbox.port,
                "mail_from": "service@guanxi.example",
                "public_url": "https://crm.example.com",
            }
        )
        assert surveys.send(mailing, sessions, survey_id=survey.id)

    [(recipients, message)] = inbox.received
    assert recipients == ["zhang.wei@example.com"]
    assert "Heater broken" in str(message["Subject"])
    body = message.get_content()
    link = surveys.link_for(mailing, survey)
    assert link.startswith("https://crm.example.com/survey/") and link in body
    logged = session.scalars(
        select(Interaction).where(Interaction.customer_id == customer_id)
    ).one()
    assert (logged.channel, logged.direction, logged.source) == ("email", "outbound", "email_out")
    assert logged.message_id == str(message["Message-ID"])


def test_a_link_answers_once(session: Session, people: People, settings: Settings) -> None:
    rep = people.user("sales")
    customer_id = support.customer(session, rep.user, "赵敏", email="zhao@example.com")
    survey = support.survey(session, support.ticket(session, customer_id))
    token = surveys.token_for(settings, survey)

    assert surveys.open_survey(session, settings=settings, token=token).id == survey.id
    done = surveys.answer(
        session,
        settings=settings,
        token=token,
        answer_in=surveys.parse_answer("2", "6", "  too slow  "),
    )
    assert (done.csat, done.nps, done.comment) == (2, 6, "too slow")
    assert done.answered_at is not None
    with pytest.raises(Gone):
        surveys.open_survey(session, settings=settings, token=token)
    with pytest.raises(Gone):
        surveys.answer(
            session, settings=settings, token=token, answer_in=surveys.parse_answer("5", "", "")
        )
    session.refresh(done)
    assert (done.csat, done.nps) == (2, 6)


def test_expired_and_forged_links(session: Session, people: People, settings: Settings) -> None:
    rep = people.user("sales")
    customer_id = support.customer(session, rep.user, "周杰", email="zhou@example.com")
    survey = support.survey(
        session, support.ticket(session, customer_id), sent_at=utcnow() - timedelta(days=15)
    )
    token = surveys.token_for(settings, survey)
    with pytest.raises(Gone):
        surveys.open_survey(session, settings=settings, token=token)
    # just before the expiry it still opens
    assert surveys.open_survey(
        session, settings=settings, token=token, now=survey.expires_at - timedelta(seconds=1)
    )
    with pytest.raises(NotFound):
        surveys.open_survey(session, settings=settings, token=token[:-2] + "xy")
    other = settings.model_copy(update={"secret_key": "another-secret-" * 3})
    with pytest.raises(NotFound):
        surveys.open_survey(session, settings=settings, token=surveys.token_for(other, survey))


@pytest.mark.parametrize(
    ("csat", "nps", "field"),
    [("0", "", "csat"), ("6", "", "csat"), ("", "11", "nps"), ("x", "", "csat"), ("", "", "csat")],
)
def test_bad_answers_name_the_field(csat: str, nps: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        surveys.parse_answer(csat, nps, "")
    assert [error.field for error in refused.value.errors] == [field]


def test_boundary_answers_are_accepted() -> None:
    assert surveys.parse_answer("1", "0", "") == surveys.SurveyAnswer(1, 0, "")
    assert surveys.parse_answer("5", "10", "") == surveys.SurveyAnswer(5, 10, "")
    assert surveys.parse_answer(None, "7", None) == surveys.SurveyAnswer(None, 7, "")
