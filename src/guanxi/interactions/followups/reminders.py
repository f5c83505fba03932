"""Follow-up reminders (跟进提醒): when a follow-up falls due, its assignee is told in the app
and by e-mail, once.

``remind`` runs every minute in the job queue and on demand as ``guanxi follow-ups remind``,
in two steps, each in small units of work of its own (the pattern of the contract reminders in
``sales.contracts.jobs``):

1. **Reminders, exactly once.** For each open follow-up whose due time has come and that has no
   ``FollowUpReminder`` for that due time, the reminder row is inserted first, with the
   assignee's in-app notification, in one transaction. The unique key (follow-up, due time)
   lets exactly one run win, also across restarts and concurrent workers: a loser gets an
   IntegrityError and moves on, and a crash before the commit leaves nothing behind. An
   assignee who no longer sees the customer is not told (the reminder row is still written, so
   the follow-up is not looked at again for that due time).
   Rescheduling gives a new due time, so the new time is reminded of again. Follow-ups that
   fell due more than ``REMIND_WINDOW`` ago are not reminded of any more (they are on the
   assignee's "my day" as overdue), so a worker that was off, or follow-ups imported with old
   dates, do not produce a burst of stale reminders.
2. **E-mail, claimed before it is sent** (``guanxi.reminder_mail``, shared with the contract
   reminders). A reminder whose ``emailed_at`` is empty is claimed by a conditional UPDATE
   (``emailed_at`` set where it is still NULL, committed), then sent.
   So two workers never mail the same reminder; an SMTP failure clears the claim and the next
   run tries again. A process that dies between the claim and the server's answer loses that
   one e-mail (at most once; the in-app notification stands), which we prefer to duplicates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Annotated

import typer
from sqlalchemy import exists, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanxi import mail, reminder_mail
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database, UTCDateTime, as_utc, utcnow
from guanxi.errors import N_
from guanxi.interactions.followups import service as followups
from guanxi.interactions.models import FollowUp, FollowUpReminder
from guanxi.jobs import JobContext, periodic
from guanxi.notifications import service as notifications
from guanxi.web import i18n

log = logging.getLogger("guanxi.interactions.reminders")
REMIND_WINDOW = timedelta(days=2)
MAIL_WINDOW = timedelta(days=2)

MESSAGE = N_("Follow-up with {customer} is due at {due}: {subject}")
SUBJECT = N_("Follow-up due: {customer}")
MAIL_FOOTER = N_("Open the follow-up: {link}")
NO_SUBJECT = N_("(no subject)")


@dataclass(frozen=True)
class RemindReport:
    """What one run did."""

    reminders: int
    emails: int


@periodic(minute="*")
def remind_follow_ups(ctx: JobContext) -> None:
    report = remind(ctx.settings, ctx.db)
    if report.reminders or report.emails:
        log.info("follow-up reminders: %s", report)


def remind(settings: Settings, db: Database, *, now: datetime | None = None) -> RemindReport:
    """Write the reminders of follow-ups that have fallen due, then mail the unmailed ones."""
    moment = now or utcnow()
    reminders = write_reminders(settings, db, now=moment)
    emails = send_reminder_mail(settings, db, now=moment)
    return RemindReport(reminders, emails)


# ---------------------------------------------------------------- 1. reminders


def write_reminders(settings: Settings, db: Database, *, now: datetime) -> int:
    with db.sessions() as session:
        due = list(
            session.execute(
                select(FollowUp.id, FollowUp.due_at)
                .where(
                    FollowUp.status == "open",
                    FollowUp.assignee_id.is_not(None),
                    FollowUp.due_at <= now,
                    FollowUp.due_at > now - REMIND_WINDOW,
                    ~exists().where(
                        FollowUpReminder.follow_up_id == FollowUp.id,
                        FollowUpReminder.due_at == FollowUp.due_at,
                    ),
                )
                .order_by(FollowUp.due_at, FollowUp.id)
            )
        )
    written = 0
    for follow_up_id, due_at in due:
        try:
            with db.unit_of_work() as session:
                written += _remind(session, settings, follow_up_id, due_at)
        except IntegrityError:
            log.info("follow-up %s: reminder already written by another run", follow_up_id)
    return written


def _remind(session: Session, settings: Settings, follow_up_id: int, due_at: datetime) -> int:
    # the reminder row first, copied from the follow-up in one statement: if another run holds
    # this key already it fails before anything else is written; being a write, it also takes
    # SQLite's write lock before anything is read
    inserted = session.execute(
        insert(FollowUpReminder)
        .from_select(
            ["follow_up_id", "due_at", "user_id", "sent_at"],
            select(
                FollowUp.id,
                FollowUp.due_at,
                FollowUp.assignee_id,
                literal(utcnow(), UTCDateTime()),
            ).where(
                FollowUp.id == follow_up_id,
                FollowUp.status == "open",
                FollowUp.due_at == due_at,
            ),
        )
        .returning(FollowUpReminder.id)
    ).scalar_one_or_none()
    if inserted is None:
        return 0  # done, cancelled or rescheduled since the list was read
    follow_up = session.get(FollowUp, follow_up_id)
    assert follow_up is not None and follow_up.assignee_id is not None
    assignee = session.get(User, follow_up.assignee_id)
    if _may_see(session, assignee, follow_up):
        assert assignee is not None
        notifications.notify(
            session,
            user_id=assignee.id,
            kind="follow_up_due",
            message=MESSAGE,
            values=_values(session, settings, follow_up, assignee),
            link=f"/interactions/follow-ups/{follow_up.id}",
        )
    return 1


def _may_see(session: Session, assignee: User | None, follow_up: FollowUp) -> bool:
    """Whether the assignee (still) sees the follow-up's customer: a reminder names the
    customer, so someone who lost sight of it is not told about it."""
    if assignee is None or not assignee.is_active:
        return False
    visible = followups.visible_follow_ups(assignee).where(FollowUp.id == follow_up.id)
    return session.scalar(visible.with_only_columns(FollowUp.id)) is not None


def _values(
    session: Session, settings: Settings, follow_up: FollowUp, assignee: User
) -> dict[str, str]:
    customer = session.get(Customer, follow_up.customer_id)
    local = follow_up.due_at.astimezone(assignee.zone(settings.zone))
    return {
        "customer": customer.name if customer is not None else "",
        "subject": follow_up.subject,
        "due": local.strftime("%Y-%m-%d %H:%M"),
    }


# ---------------------------------------------------------------- 2. e-mail


def send_reminder_mail(settings: Settings, db: Database, *, now: datetime) -> int:
    return reminder_mail.send_unmailed(
        settings, db, model=FollowUpReminder, window=MAIL_WINDOW, build=_message, now=now
    )


def _message(
    session: Session, settings: Settings, reminder: FollowUpReminder
) -> EmailMessage | None:
    """The assignee's e-mail about the follow-up, in their language; None (and no e-mail) for
    a customer they can no longer see."""
    follow_up = session.get(FollowUp, reminder.follow_up_id)
    assignee = session.get(User, reminder.user_id)
    if follow_up is None or assignee is None or not _may_see(session, assignee, follow_up):
        return None  # the claim stays: nothing is sent about a customer they cannot see
    translations = i18n.translations(assignee.locale or settings.default_locale)
    values = _values(session, settings, follow_up, assignee)
    values["due"] = reminder.due_at.astimezone(assignee.zone(settings.zone)).strftime(
        "%Y-%m-%d %H:%M"
    )
    if not values["subject"]:
        values["subject"] = translations.gettext(NO_SUBJECT)
    link = f"{settings.public_url.rstrip('/')}/interactions/follow-ups/{follow_up.id}"
    text = translations.gettext(MESSAGE).format(**values)
    if follow_up.note:
        text += f"\n\n{follow_up.note}"
    footer = translations.gettext(MAIL_FOOTER).format(link=link)
    return mail.build(
        settings,
        to=assignee.email,
        subject=translations.gettext(SUBJECT).format(**values),
        text=f"{text}\n\n{footer}\n",
    )


# ---------------------------------------------------------------- CLI

follow_ups_app = typer.Typer(help="Follow-ups", no_args_is_help=True)


@follow_ups_app.command("remind")
def remind_command(
    now: Annotated[
        str,
        typer.Option(
            "--now", help="Pretend it is this UTC time (YYYY-MM-DDTHH:MM), for a catch-up"
        ),
    ] = "",
) -> None:
    """Send the reminders of follow-ups that have fallen due now (the job does it every minute)."""
    from guanxi.cli_support import CliError, console, database, settings

    current = settings()
    try:
        moment = as_utc(datetime.fromisoformat(now)) if now else None
    except ValueError:
        raise CliError("--now: write the time as YYYY-MM-DDTHH:MM") from None
    db = database(current)
    try:
        report = remind(current, db, now=moment)
    finally:
        db.dispose()
    console.print(f"reminders: {report.reminders}, e-mails: {report.emails}")
