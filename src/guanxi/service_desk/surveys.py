"""Satisfaction surveys (客户满意): one per resolved ticket, mailed as a signed link that a
customer answers once, without signing in, before it expires.

The link carries the survey id signed with the app's secret (itsdangerous), so a forged or
altered link is refused (404) without a lookup of anything the sender chose. Expiry and single
use are kept on the row (``expires_at``, ``answered_at``), not in the token: a used or expired
link answers 410. Answering sets ``answered_at`` with a conditional UPDATE (``WHERE answered_at
IS NULL``), so of two submissions racing each other exactly one is recorded.

The mail goes out from the job queue after the resolving transaction commits; it is logged on the
customer's timeline as an outbound e-mail interaction, like every other mail to a customer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from guanxi import mail
from guanxi.audit import tracking
from guanxi.config import Settings
from guanxi.customers.models import Contact, Customer
from guanxi.db import utcnow
from guanxi.errors import N_, FieldError, Gone, InvalidInput, NotFound
from guanxi.interactions import service as interactions
from guanxi.interactions.mail import service as mail_service
from guanxi.jobs import JobContext, enqueue_after_commit, job
from guanxi.service_desk.models import Survey, Ticket
from guanxi.web import i18n

log = logging.getLogger("guanxi.service_desk.surveys")
VALID_DAYS = 14
CSAT_RANGE = range(1, 6)
NPS_RANGE = range(0, 11)
COMMENT_LIMIT = 4000
_SALT = "guanxi.survey"
RANGE_MESSAGES = {
    "csat": N_("Choose a rating from 1 to 5."),
    "nps": N_("Choose a number from 0 to 10."),
}

SUBJECT = N_("How did we do? Ticket #{number}: {subject}")
BODY = N_(
    "Dear {customer},\n\n"
    'your request "{subject}" (ticket #{number}) has been resolved. Please tell us in a minute '
    "how satisfied you are; the link works once and until {expires}:\n\n{link}\n\n"
    "Thank you."
)


# ---------------------------------------------------------------- links


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt=_SALT)


def token_for(settings: Settings, survey: Survey) -> str:
    return _serializer(settings).dumps({"s": survey.id})


def link_for(settings: Settings, survey: Survey) -> str:
    return f"{settings.public_url.rstrip('/')}/survey/{token_for(settings, survey)}"


def _survey_id(settings: Settings, token: str) -> int:
    try:
        payload = _serializer(settings).loads(token)
    except BadSignature as exc:
        raise NotFound(N_("This survey link is not valid.")) from exc
    survey_id = payload.get("s") if isinstance(payload, dict) else None
    if not isinstance(survey_id, int):
        raise NotFound(N_("This survey link is not valid."))
    return survey_id


def open_survey(
    session: Session, *, settings: Settings, token: str, now: datetime | None = None
) -> Survey:
    """The survey a link opens: NotFound for a forged link or a survey gone with its ticket,
    Gone when it was answered or has expired."""
    survey = session.get(Survey, _survey_id(settings, token))
    if survey is None:
        raise NotFound(N_("This survey link is not valid."))
    if survey.answered_at is not None:
        raise Gone(N_("This survey has already been answered. Thank you!"))
    if survey.expires_at <= (now or utcnow()):
        raise Gone(N_("This survey link has expired."))
    return survey


# ---------------------------------------------------------------- answering


@dataclass(frozen=True)
class SurveyAnswer:
    csat: int | None
    nps: int | None
    comment: str


def parse_answer(csat: object, nps: object, comment: object) -> SurveyAnswer:
    """Check a submitted answer: CSAT 1-5 and NPS 0-10 (either may be left out, not both)."""
    errors: list[FieldError] = []

    def number(name: str, value: object, allowed: range) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            parsed = int(str(value).strip())
        except ValueError:
            parsed = -1
        if parsed not in allowed:
            errors.append(FieldError(name, RANGE_MESSAGES[name]))
            return None
        return parsed

    answer = SurveyAnswer(
        csat=number("csat", csat, CSAT_RANGE),
        nps=number("nps", nps, NPS_RANGE),
        comment=str(comment or "").strip()[:COMMENT_LIMIT],
    )
    if not errors and answer.csat is None and answer.nps is None:
        errors.append(FieldError("csat", N_("Please rate us before sending.")))
    if errors:
        raise InvalidInput(N_("The survey could not be sent."), errors=errors)
    return answer


def answer(
    session: Session,
    *,
    settings: Settings,
    token: str,
    answer_in: SurveyAnswer,
    now: datetime | None = None,
) -> Survey:
    """Record the customer's answer once: Gone when the survey was already answered (also by
    a submission racing this one) or has expired, NotFound for a forged link.

    The conditional UPDATE comes first, before anything is read in this transaction: on
    SQLite a transaction that has read cannot write after another one committed, and on
    PostgreSQL the row lock makes the loser see the winner's ``answered_at``."""
    moment = now or utcnow()
    survey_id = _survey_id(settings, token)
    claimed = session.execute(
        update(Survey)
        .where(
            Survey.id == survey_id,
            Survey.answered_at.is_(None),
            Survey.expires_at > moment,
        )
        .values(
            answered_at=moment,
            csat=answer_in.csat,
            nps=answer_in.nps,
            comment=answer_in.comment,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        open_survey(session, settings=settings, token=token, now=moment)  # says why
        raise Gone(N_("This survey has already been answered. Thank you!"))
    survey = session.get(Survey, survey_id)
    assert survey is not None
    session.refresh(survey)
    # the comment is the customer's own words: kept on the survey, not copied into the log
    tracking.record(
        session,
        "survey.answer",
        "survey",
        survey.id,
        {"ticket_id": survey.ticket_id, "csat": survey.csat, "nps": survey.nps},
    )
    return survey


# ---------------------------------------------------------------- sending


def _address(session: Session, ticket: Ticket, customer: Customer) -> str | None:
    """The ticket's contact's address when it has one, else the customer's first."""
    if ticket.contact_id is not None:
        contact = session.get(Contact, ticket.contact_id)
        if contact is not None and contact.deleted_at is None and contact.email.strip():
            return contact.email.strip().lower()
    choices = mail_service.addresses(session, customer=customer)
    return choices[0][0] if choices else None


def on_resolved(session: Session, ticket: Ticket, *, now: datetime | None = None) -> None:
    """Create the ticket's survey and queue its mail for after the commit.

    A ticket gets one survey in its life: resolving it again after a reopen sends nothing new.
    Nothing is sent to a customer without an e-mail address or who has withdrawn consent to
    e-mail, and nothing for a ticket merged into another."""
    if ticket.merged_into_id is not None:
        return
    exists = session.scalar(select(Survey.id).where(Survey.ticket_id == ticket.id))
    if exists is not None:
        return
    customer = session.get(Customer, ticket.customer_id)
    if customer is None or customer.deleted_at is not None or customer.merged_into_id:
        return
    if mail_service.consent_withdrawn(session, customer_id=customer.id):
        return
    address = _address(session, ticket, customer)
    if address is None:
        return
    moment = now or utcnow()
    survey = Survey(
        ticket_id=ticket.id,
        customer_id=customer.id,
        email_address=address,
        sent_at=moment,
        expires_at=moment + timedelta(days=VALID_DAYS),
    )
    session.add(survey)
    session.flush()
    enqueue_after_commit(session, send_survey_mail, survey_id=survey.id)


def _locale(ticket: Ticket, settings: Settings) -> str:
    if ticket.language.startswith("zh"):
        return "zh_CN"
    if ticket.language.startswith("en"):
        return "en"
    return settings.default_locale


@job(retries=3, retry_delay=60)
def send_survey_mail(ctx: JobContext, *, survey_id: int) -> None:
    send(ctx.settings, ctx.db.sessions, survey_id=survey_id)


def send(settings: Settings, sessions: sessionmaker[Session], *, survey_id: int) -> bool:
    """Mail one survey and log it as an outbound e-mail; False when there is nothing to send
    (answered, expired, gone, consent withdrawn since, or e-mail is off). A refusing server
    raises ``mail.MailError`` after the log entry is rolled back, so the job retries."""
    with sessions() as session:
        survey = session.get(Survey, survey_id)
        if survey is None or survey.answered_at is not None or survey.expires_at <= utcnow():
            return False
        ticket = session.get(Ticket, survey.ticket_id)
        if ticket is None or mail_service.consent_withdrawn(
            session, customer_id=survey.customer_id
        ):
            return False
        sending = mail.effective_settings(session, settings)
        if not mail.enabled(sending):
            log.info("e-mail is off; survey %s not mailed", survey.id)
            return False
        customer = session.get(Customer, survey.customer_id)
        if customer is None:
            return False
        translations = i18n.translations(_locale(ticket, settings))
        values = {
            "number": ticket.id,
            "subject": ticket.subject,
            "customer": customer.name,
            "expires": survey.expires_at.date().isoformat(),
            "link": link_for(settings, survey),
        }
        subject = translations.gettext(SUBJECT).format(**values)[:200]
        text = translations.gettext(BODY).format(**values)
        message = mail.build(
            sending,
            to=formataddr((customer.name, survey.email_address)),
            subject=subject,
            text=text,
        )
        try:
            interactions.log(
                session,
                actor=None,
                customer_id=customer.id,
                channel="email",
                direction="outbound",
                subject=subject,
                notes=text,
                source="email_out",
                message_id=str(message["Message-ID"]),
                email_address=survey.email_address,
                user_id=ticket.assignee_id,
            )
        except NotFound:  # the customer was deleted or merged since
            return False
        mail.send(sending, message)
        session.commit()
    return True
