"""The weekly management summary (分析与报告): every Monday from 08:00 company time, each active
manager and administrator with an e-mail address is mailed a short summary of the latest scoring
run over the customers they may see, with the full report as a PDF, once per ISO week.

``send_summaries`` runs every quarter hour in the job queue (it does nothing outside Monday
from 08:00, so the schedule follows the company's time zone rather than the server's) and on
demand as ``guanxi reports send-summary``, in two steps, each in small units of work of its own
(the pattern of the follow-up and contract reminders):

1. **A mailing row, exactly once.** For each such user without a ``SummaryMailing`` for this
   week, the row is inserted first. The unique key (week, user) lets exactly one run win, also
   across restarts and concurrent workers: a loser gets an IntegrityError and moves on. Rows are
   written only while e-mail is configured, so switching e-mail on mid-week sends nothing stale.
2. **E-mail, claimed before it is sent** (``guanxi.reminder_mail``). A row whose ``emailed_at``
   is empty is claimed by a conditional UPDATE, then the report is built for its reader and sent;
   an SMTP failure clears the claim and the next run (within ``MAIL_WINDOW``) tries again. A
   process that dies between the claim and the server's answer loses that week's mail (at most
   once), which we prefer to duplicates. The mailed report is audited as an export.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanxi import mail, reminder_mail
from guanxi.analytics.models import SummaryMailing
from guanxi.analytics.reports import content, exports, summary_mail
from guanxi.analytics.reports.words import Words
from guanxi.analytics.runs import latest_run
from guanxi.auth.models import Role, User
from guanxi.config import Settings
from guanxi.db import Database, utcnow
from guanxi.errors import NotFound
from guanxi.jobs import JobContext, periodic

log = logging.getLogger("guanxi.analytics.reports")
RECIPIENT_ROLES = ("manager", "admin")
SEND_WEEKDAY = 0  # Monday
SEND_HOUR = 8
MAIL_WINDOW = timedelta(days=1)  # a failed send is retried through the day, not next week


@dataclass(frozen=True)
class SummaryReport:
    """What one run did."""

    mailings: int
    emails: int


def iso_week(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week of ``moment`` in ``zone``, as ``2026-W50``."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def due(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether the summary goes out now: Monday from 08:00 in the company's time zone."""
    local = moment.astimezone(zone)
    return local.weekday() == SEND_WEEKDAY and local.hour >= SEND_HOUR


@periodic(minute="*/15")
def weekly_summary(ctx: JobContext) -> None:
    moment = utcnow()
    if not due(moment, ctx.settings.zone):
        return
    report = send_summaries(ctx.settings, ctx.db, now=moment)
    if report.mailings or report.emails:
        log.info("weekly summary: %s", report)


def send_summaries(
    settings: Settings, db: Database, *, now: datetime | None = None
) -> SummaryReport:
    """Write this week's mailing rows, then mail the unmailed ones (whatever the day)."""
    moment = now or utcnow()
    written = write_mailings(settings, db, week=iso_week(moment, settings.zone))
    emails = reminder_mail.send_unmailed(
        settings, db, model=SummaryMailing, window=MAIL_WINDOW, build=_message, now=moment
    )
    return SummaryReport(written, emails)


# ---------------------------------------------------------------- 1. mailing rows


def write_mailings(settings: Settings, db: Database, *, week: str) -> int:
    with db.sessions() as session:
        if not mail.enabled(mail.effective_settings(session, settings)):
            return 0
        run = latest_run(session)
        if run is None:
            return 0  # nothing to summarise yet; the next run of the job looks again
        run_id = run.id
        recipients = list(
            session.scalars(
                select(User.id)
                .join(Role, Role.id == User.role_id)
                .where(
                    Role.name.in_(RECIPIENT_ROLES),
                    User.is_active.is_(True),
                    User.email != "",
                    ~exists().where(SummaryMailing.week == week, SummaryMailing.user_id == User.id),
                )
                .order_by(User.id)
            )
        )
    written = 0
    for user_id in recipients:
        try:
            with db.unit_of_work() as session:
                session.execute(
                    insert(SummaryMailing).values(
                        week=week, user_id=user_id, run_id=run_id, sent_at=utcnow()
                    )
                )
            written += 1
        except IntegrityError:
            log.info("weekly summary %s for user %s: written by another run", week, user_id)
    return written


# ---------------------------------------------------------------- 2. e-mail


def _message(session: Session, settings: Settings, mailing: SummaryMailing) -> EmailMessage | None:
    """The reader's summary of the latest run, over the customers they may see now; None (and
    no e-mail) for someone who is no longer a manager or administrator."""
    reader = session.get(User, mailing.user_id)
    if reader is None or not reader.is_active or reader.role.name not in RECIPIENT_ROLES:
        return None  # the claim stays: this week's summary is not theirs any more
    try:
        report = content.build(
            session=session,
            actor=reader,
            database_engine=content.database_engine(session),
            timezone=settings.timezone,
        )
    except NotFound:
        return None
    mailing.run_id = report.run.id
    words = Words(reader.locale or settings.default_locale, settings.currency)
    document = exports.render(report, "pdf", words, viewer=reader.label)
    exports.record(session=session, actor=reader, report=report, file_format="pdf", via="email")
    return summary_mail.message(
        settings,
        to=reader.email,
        week=mailing.week,
        report=report,
        words=words,
        pdf=document,
        filename=exports.filename(report, "pdf", reader.zone(settings.zone)),
    )
