"""The SLA scan: warn before a ticket misses a target and escalate when it has, each once.

``scan`` runs every two minutes in the job queue.

1. **Candidates, through the due-time indexes.** For each target (first response, resolution)
   one query reads the tickets whose clock runs (status ``new``, ``assigned`` or ``in_progress``:
   a ticket waiting on the customer is paused and never looked at) and whose due time falls
   before the widest warning horizon, using ``ix_tickets_status_response_due`` and
   ``ix_tickets_status_resolution_due`` (status IN (...) AND due < horizon), so the scan stays
   a range read however many tickets there are. The horizon is ``now`` plus the largest
   ``warn_before_minutes`` of any policy, counted on each calendar in business minutes; each
   candidate is then held to its own policy's warning time.
2. **Claimed, then told, exactly once.** A ticket is warned when its due time is within its
   policy's ``warn_before_minutes`` business minutes (the assignee is told, or the queue's
   manager when nobody is assigned) and escalated once the due time has passed (the queue's
   manager is told, or, without one, the managers of the assignee's team). Each of the four
   moments is claimed for up to ``BATCH`` tickets at once by a conditional UPDATE
   (``response_warned_at = now WHERE (id, due) IN (...) AND response_warned_at IS NULL`` and
   the status still running) ``RETURNING id``, and the run writes the in-app notifications and
   the ticket's history for exactly the returned tickets, in the same transaction: one commit
   per batch rather than per notice (a commit costs milliseconds; hundreds of them made a busy
   scan miss its 2 s target). So two workers, a restart or a rerun never tell anyone twice,
   and a crash before the commit leaves the moment unclaimed for the next run. A target
   already missed when first seen is escalated and its warning claimed without being sent (a
   warning after the fact helps nobody).
3. **E-mail after the commit.** Each claimed notice is mailed to the same people once its
   transaction has committed; a server that refuses is tried once more, then the e-mail is
   given up and logged (at most once: the in-app notification stands), which we prefer to
   duplicates.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from guanxi import mail
from guanxi.auth.models import Role, Team, User
from guanxi.bulk import insert_many
from guanxi.config import Settings
from guanxi.db import Database, utcnow
from guanxi.errors import N_
from guanxi.jobs import JobContext, periodic
from guanxi.notifications.models import Notification
from guanxi.service_desk import business_calendar
from guanxi.service_desk.business_calendar import Calendar, CalendarError
from guanxi.service_desk.models import ServiceQueue, SlaPolicy, Ticket, TicketChange
from guanxi.service_desk.sla import RUNNING_STATUSES
from guanxi.web import i18n

log = logging.getLogger("guanxi.service_desk.sla")
MAIL_ATTEMPTS = 2
BATCH = 500  # tickets claimed and told per transaction
TICKET_PAGE = "/service/tickets/{id}"


@dataclass(frozen=True)
class Target:
    """One SLA target of a ticket and the columns that say where it stands."""

    name: str  # "response" | "resolution"
    due: InstrumentedAttribute[datetime | None]
    done: InstrumentedAttribute[datetime | None]
    warned: InstrumentedAttribute[datetime | None]
    escalated: InstrumentedAttribute[datetime | None]


TARGETS: Final = (
    Target(
        "response",
        Ticket.first_response_due,
        Ticket.first_responded_at,
        Ticket.response_warned_at,
        Ticket.response_escalated_at,
    ),
    Target(
        "resolution",
        Ticket.resolution_due,
        Ticket.resolved_at,
        Ticket.resolution_warned_at,
        Ticket.resolution_escalated_at,
    ),
)

MESSAGES: Final = {
    ("response", "warning"): N_("Ticket {id} ({subject}) needs a first response by {due}."),
    ("response", "breach"): N_("Ticket {id} ({subject}) missed its first response due at {due}."),
    ("resolution", "warning"): N_("Ticket {id} ({subject}) must be resolved by {due}."),
    ("resolution", "breach"): N_("Ticket {id} ({subject}) missed its resolution due at {due}."),
}
SUBJECTS: Final = {
    "warning": N_("Ticket {id} is about to miss its SLA"),
    "breach": N_("Ticket {id} missed its SLA"),
}
MAIL_FOOTER: Final = N_("Open the ticket: {link}")


@dataclass(frozen=True)
class ScanReport:
    """What one run did: notices claimed (each told to one or more people) and e-mails sent."""

    warnings: int
    escalations: int
    emails: int


@dataclass(frozen=True)
class _Notice:
    ticket_id: int
    target: str
    stage: str  # "warning" | "breach"
    due: datetime
    user_ids: tuple[int, ...]


@periodic(minute="*/2")
def scan_sla(ctx: JobContext) -> None:
    report = scan(ctx.settings, ctx.db)
    if report.warnings or report.escalations:
        log.info("SLA scan: %s", report)


def scan(settings: Settings, db: Database, *, now: datetime | None = None) -> ScanReport:
    """Warn about tickets close to a target and escalate those past one, each exactly once."""
    moment = now or utcnow()
    with db.sessions() as session:
        rules = _Rules.load(session)
        candidates = [
            (target, row)
            for target in TARGETS
            for row in _candidates(session, target, rules, moment)
        ]
    # each candidate sorted into the moment it owes: (target, stage) -> {id: due as read}
    owed: dict[tuple[Target, str], dict[int, tuple[datetime, bool]]] = {}
    for target, (ticket_id, due, policy_id, warned, escalated) in candidates:
        if due <= moment:
            if escalated is None:
                owed.setdefault((target, "breach"), {})[ticket_id] = (due, warned is None)
        elif warned is None and rules.within_warning(policy_id, moment, due):
            owed.setdefault((target, "warning"), {})[ticket_id] = (due, False)
    notices: list[_Notice] = []
    for (target, stage), due_of in owed.items():
        ids = sorted(due_of)  # the same order in every worker, so row locks never cross
        for start in range(0, len(ids), BATCH):
            batch = {ticket_id: due_of[ticket_id] for ticket_id in ids[start : start + BATCH]}
            notices += _claim(settings, db, target, stage, batch, moment)
    emails = _mail(settings, db, notices)
    return ScanReport(
        warnings=sum(notice.stage == "warning" for notice in notices),
        escalations=sum(notice.stage == "breach" for notice in notices),
        emails=emails,
    )


# ---------------------------------------------------------------- 1. candidates


@dataclass
class _Rules:
    """Each policy's warning time and calendar, loaded once per run."""

    warn: dict[int, int]
    calendar_of: dict[int, int | None]
    calendars: dict[int | None, Calendar]

    @classmethod
    def load(cls, session: Session) -> _Rules:
        rows = session.execute(
            select(SlaPolicy.id, SlaPolicy.warn_before_minutes, SlaPolicy.calendar_id)
        ).all()
        calendars = {
            calendar_id: business_calendar.load(session, calendar_id)
            for calendar_id in {calendar_id for _, _, calendar_id in rows} | {None}
        }
        return cls(
            warn={policy_id: warn for policy_id, warn, _ in rows},
            calendar_of={policy_id: calendar_id for policy_id, _, calendar_id in rows},
            calendars=calendars,
        )

    def calendar(self, policy_id: int | None) -> Calendar:
        return self.calendars[self.calendar_of.get(policy_id) if policy_id else None]

    def horizon(self, moment: datetime) -> datetime:
        """The latest due time any policy would warn about now."""
        widest = max(self.warn.values(), default=0)
        horizons = [moment]
        for calendar in self.calendars.values():
            # no working hours ahead: nothing comes due on it, though breaches still count
            with contextlib.suppress(CalendarError):
                horizons.append(business_calendar.add_business_minutes(calendar, moment, widest))
        return max(horizons)

    def within_warning(self, policy_id: int | None, moment: datetime, due: datetime) -> bool:
        warn = self.warn.get(policy_id, 0) if policy_id else 0
        left = business_calendar.business_minutes_between(self.calendar(policy_id), moment, due)
        return left <= warn


def due_before(
    target: Target, horizon: datetime
) -> Select[int, datetime | None, int | None, datetime | None, datetime | None]:
    """Running tickets whose ``target`` falls due before ``horizon`` and that still owe a
    warning or an escalation: ``status IN (...) AND due < horizon`` is a range read of the
    target's (status, due) index, and the rest only filters the rows it finds."""
    return (
        select(Ticket.id, target.due, Ticket.sla_policy_id, target.warned, target.escalated)
        .where(
            Ticket.status.in_(RUNNING_STATUSES),
            target.due < horizon,
            target.done.is_(None),
            or_(target.warned.is_(None), target.escalated.is_(None)),
        )
        .order_by(target.due)
    )


def _candidates(session: Session, target: Target, rules: _Rules, moment: datetime) -> Iterable[Any]:
    return session.execute(due_before(target, rules.horizon(moment))).all()


# ---------------------------------------------------------------- 2. claim and tell


def _claim(
    settings: Settings,
    db: Database,
    target: Target,
    stage: str,
    batch: dict[int, tuple[datetime, bool]],
    moment: datetime,
) -> list[_Notice]:
    """Claim one moment (``stage`` of ``target``) for a batch of tickets ({id: (due as read,
    warning still owed)}) and tell of exactly the claimed ones, in one transaction."""
    column = target.escalated if stage == "breach" else target.warned
    zone = settings.zone
    notices: list[_Notice] = []
    told_of: list[dict[str, Any]] = []  # notification rows, written at the end in one go
    history: list[dict[str, Any]] = []  # the tickets' change rows, likewise
    with db.unit_of_work() as session:
        # the ticket must still stand as it was read: unclaimed, running, unfinished, the same due
        still: ColumnElement[bool] = and_(
            _as_read(session, target, batch),
            column.is_(None),
            Ticket.status.in_(RUNNING_STATUSES),
            target.done.is_(None),
        )
        values: dict[str, Any] = {column.key: moment}
        if stage == "breach":
            # a target already missed when first seen: its warning is claimed without being sent
            values[target.warned.key] = func.coalesce(target.warned, moment)
        # the claim is the transaction's first statement and a write, so on SQLite it takes
        # the write lock before anything is read; RETURNING names the rows this run won
        # (another run got the rest first, or they moved on since they were read)
        claimed = set(
            session.scalars(
                update(Ticket).where(still).values(**values).returning(Ticket.id),
                execution_options={"synchronize_session": False},
            )
        )
        if not claimed:
            return []
        tickets = session.scalars(
            select(Ticket).where(_among(session, claimed)).order_by(Ticket.id)
        ).all()
        told = _recipients(session, tickets, stage)
        for ticket in tickets:
            due = batch[ticket.id][0]
            users = told[ticket.id]
            told_of.extend(
                {
                    "user_id": user.id,
                    "kind": f"sla_{stage}",
                    "message": MESSAGES[(target.name, stage)],
                    "values": _values(ticket, due, user, zone),
                    "link": TICKET_PAGE.format(id=ticket.id),
                    "created_at": utcnow(),
                }
                for user in users
            )
            history.append(
                {
                    "ticket_id": ticket.id,
                    "at": moment,
                    "actor_label": "system",
                    "field": f"sla_{target.name}",
                    "old_value": "",
                    "new_value": "escalated" if stage == "breach" else "warned",
                }
            )
            notices.append(
                _Notice(ticket.id, target.name, stage, due, tuple(user.id for user in users))
            )
        # rows, not objects: the ORM's flush of ~600 objects cost more than the claim itself
        insert_many(session.connection(), Notification.__table__, told_of)  # type: ignore[arg-type]
        insert_many(session.connection(), TicketChange.__table__, history)  # type: ignore[arg-type]
    return notices


def _as_read(
    session: Session, target: Target, batch: dict[int, tuple[datetime, bool]]
) -> ColumnElement[bool]:
    """The batch's tickets with the due times they were read with. On PostgreSQL as two array
    parameters (``unnest``): a thousand separate parameters cost psycopg more to send than the
    claim costs the server. SQLite reads the ids by primary key, the pairs beside them (a
    row-value IN alone may scan the table)."""
    ids = list(batch)
    dues = [due for due, _ in batch.values()]
    if session.get_bind().dialect.name == "postgresql":
        read = (
            func.unnest(
                bindparam(None, ids, type_=ARRAY(BigInteger())),
                bindparam(None, dues, type_=ARRAY(DateTime(timezone=True))),
            )
            .table_valued("id", "due")
            .render_derived()
        )
        return and_(
            _among(session, ids), tuple_(Ticket.id, target.due).in_(select(read.c.id, read.c.due))
        )
    pairs = list(zip(ids, dues, strict=True))
    return and_(_among(session, ids), tuple_(Ticket.id, target.due).in_(pairs))


def _among(session: Session, ids: Iterable[int]) -> ColumnElement[bool]:
    """Tickets with these ids: one array parameter on PostgreSQL, an IN list on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return Ticket.id == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger())))
    return Ticket.id.in_(list(ids))


def _recipients(session: Session, tickets: Sequence[Ticket], stage: str) -> dict[int, list[User]]:
    """Who hears of each ticket: a warning goes to the assignee (the queue's manager when nobody
    is assigned); an escalation to the queue's manager, else to the assignee's team managers.
    Read for the whole batch at once: a query per ticket cost more than the claim itself."""
    queue_ids = {ticket.queue_id for ticket in tickets if ticket.queue_id}
    manager_of: dict[int, int | None] = {
        queue_id: manager_id
        for queue_id, manager_id in session.execute(
            select(ServiceQueue.id, ServiceQueue.manager_id).where(ServiceQueue.id.in_(queue_ids))
        )
    }
    team_managers: dict[int | None, list[int]] = {}
    chosen: dict[int, list[int | None]] = {}
    for ticket in tickets:
        manager = manager_of.get(ticket.queue_id) if ticket.queue_id else None
        if stage == "warning":
            chosen[ticket.id] = [ticket.assignee_id or manager]
        elif manager is not None:
            chosen[ticket.id] = [manager]
        else:
            if ticket.assignee_id not in team_managers:
                team_managers[ticket.assignee_id] = _team_managers(session, ticket.assignee_id)
            chosen[ticket.id] = list(team_managers[ticket.assignee_id])
    wanted = {uid for uids in chosen.values() for uid in uids if uid}
    active = {
        user.id: user
        for user in session.scalars(
            select(User).where(User.id.in_(wanted), User.is_active.is_(True))
        )
    }
    return {
        ticket_id: [active[uid] for uid in sorted({uid for uid in uids if uid}) if uid in active]
        for ticket_id, uids in chosen.items()
    }


def _team_managers(session: Session, user_id: int | None) -> list[int]:
    """The active users leading the user's team (a role that sees the team's records), looked
    for up the team tree until some are found."""
    user = session.get(User, user_id) if user_id else None
    team_id = user.team_id if user is not None else None
    seen: set[int] = set()
    while team_id is not None and team_id not in seen:
        seen.add(team_id)
        managers = list(
            session.scalars(
                select(User.id)
                .join(Role, Role.id == User.role_id)
                .where(
                    User.team_id == team_id,
                    User.is_active.is_(True),
                    Role.record_scope == "team",
                    User.id != user_id,
                )
            )
        )
        if managers:
            return managers
        team_id = session.scalar(select(Team.parent_id).where(Team.id == team_id))
    return []


def _values(ticket: Ticket, due: datetime, user: User, company: ZoneInfo) -> dict[str, str]:
    """The message's values, the due time on the reader's clock."""
    local = due.astimezone(user.zone(company))
    return {
        "id": str(ticket.id),
        "subject": ticket.subject,
        "due": local.strftime("%Y-%m-%d %H:%M"),
    }


# ---------------------------------------------------------------- 3. e-mail


def _mail(settings: Settings, db: Database, notices: list[_Notice]) -> int:
    if not notices:
        return 0
    with db.sessions() as session:
        settings = mail.effective_settings(session, settings)
        if not mail.enabled(settings):
            return 0
        messages = [
            message
            for notice in notices
            for user_id in notice.user_ids
            if (message := _message(session, settings, notice, user_id)) is not None
        ]
    sent = 0
    for message in messages:
        for attempt in range(1, MAIL_ATTEMPTS + 1):
            try:
                sent += mail.send(settings, message)
                break
            except mail.MailError as error:
                if attempt == MAIL_ATTEMPTS:
                    log.warning("SLA e-mail %s given up: %s", message["Subject"], error)
    return sent


def _message(
    session: Session, settings: Settings, notice: _Notice, user_id: int
) -> EmailMessage | None:
    """The notice in the recipient's language, its due time in their time zone."""
    user = session.get(User, user_id)
    ticket = session.get(Ticket, notice.ticket_id)
    if user is None or ticket is None or not user.email or not user.is_active:
        return None
    translations = i18n.translations(user.locale or settings.default_locale)
    values = _values(ticket, notice.due, user, settings.zone)
    link = f"{settings.public_url.rstrip('/')}{TICKET_PAGE.format(id=ticket.id)}"
    text = translations.gettext(MESSAGES[(notice.target, notice.stage)]).format(**values)
    footer = translations.gettext(MAIL_FOOTER).format(link=link)
    return mail.build(
        settings,
        to=user.email,
        subject=translations.gettext(SUBJECTS[notice.stage]).format(**values),
        text=f"{text}\n\n{footer}\n",
    )
