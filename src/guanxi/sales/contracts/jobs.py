"""Contract jobs: keep statuses current and warn owners before contracts expire.

``refresh`` runs every hour (minute 5) in the job queue and on demand as ``guanxi contracts
refresh``. It works in three steps, each in small units of work of its own:

1. **Statuses.** Every running contract whose ``status_for`` differs is updated through the
   ORM (so each change is audited and announced as ``contract.status_changed``).
2. **Reminders, exactly once.** For each contract that is ``expiring`` and has no
   ``ContractReminder(kind="expiring", end_date=<its end date>)`` the reminder row is inserted
   first, with the owner's in-app notification and the ``contract.expiring`` webhook, in one
   transaction. The unique key (contract, kind, end date) lets exactly one run win, also
   across restarts and concurrent workers: a loser gets an IntegrityError and moves on, and a
   crash before the commit leaves nothing behind. A contract that has just expired (its end
   date within the last ``EXPIRED_NOTICE_DAYS``) gets a ``kind="expired"`` reminder the same
   way; one whose end date moves gets reminded again for the new date.
3. **E-mail, claimed before it is sent** (``guanxi.reminder_mail``). A reminder whose
   ``emailed_at`` is empty is claimed by a conditional UPDATE (``emailed_at`` set where it is
   still NULL, committed), then sent. So two workers never mail the same reminder; an SMTP
   failure clears the claim and the next run tries again. A process that dies between the
   claim and the server's answer loses that one e-mail (at most once); the in-app notification
   still stands, which we prefer to sending duplicates. Reminders older than
   ``MAIL_WINDOW_DAYS`` are not mailed any more, so turning e-mail on later does not send a
   backlog of stale warnings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Annotated, Any

import typer
from sqlalchemy import and_, exists, func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from guanxi import mail, reminder_mail
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database, UTCDateTime, utcnow
from guanxi.errors import N_
from guanxi.jobs import JobContext, periodic
from guanxi.notifications import service as notifications
from guanxi.sales.contracts import service
from guanxi.sales.models import Contract, ContractReminder
from guanxi.web import i18n
from guanxi.webhooks import events

log = logging.getLogger("guanxi.sales.contracts")
BATCH = 200
ATTEMPTS = 3
EXPIRED_NOTICE_DAYS = 7
MAIL_WINDOW_DAYS = 3

MESSAGES = {
    "expiring": N_("Contract {number} ({title}) with {customer} ends on {end_date}."),
    "expired": N_("Contract {number} ({title}) with {customer} expired on {end_date}."),
}
SUBJECTS = {
    "expiring": N_("Contract {number} ends on {end_date}"),
    "expired": N_("Contract {number} has expired"),
}
MAIL_FOOTER = N_("Open the contract: {link}")


@dataclass(frozen=True)
class RefreshReport:
    """What one run did."""

    statuses_changed: int
    reminders: int
    emails: int


@periodic(minute="5")
def refresh_contracts(ctx: JobContext) -> None:
    report = refresh(ctx.settings, ctx.db)
    log.info("contracts refreshed: %s", report)


def refresh(settings: Settings, db: Database, *, today: date | None = None) -> RefreshReport:
    """Bring statuses up to date, write due reminders once, then mail the unmailed ones."""
    day = today or service.today_in(settings)
    changed = update_statuses(settings, db, today=day)
    reminders = write_reminders(settings, db, today=day)
    emails = send_reminder_mail(settings, db)
    return RefreshReport(changed, reminders, emails)


# ---------------------------------------------------------------- 1. statuses


def update_statuses(settings: Settings, db: Database, *, today: date) -> int:
    with db.sessions() as session:
        widest = max(
            settings.contract_warning_days,
            session.scalar(select(func.max(Contract.warning_days))) or 0,
        )
        # "active" ones outside every warning window cannot change today: the index on
        # (status, end_date) keeps this to the few that can
        ids = list(
            session.scalars(
                select(Contract.id)
                .where(
                    Contract.deleted_at.is_(None),
                    or_(
                        Contract.status == "expiring",
                        and_(
                            Contract.status == "active",
                            Contract.end_date <= today + timedelta(days=widest),
                        ),
                    ),
                )
                .order_by(Contract.id)
            )
        )
    changed = 0
    for start in range(0, len(ids), BATCH):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with db.unit_of_work() as session:
                    batch = session.scalars(
                        select(Contract).where(Contract.id.in_(ids[start : start + BATCH]))
                    )
                    moved = sum(
                        service.refresh_status(session, contract, settings, today=today)
                        for contract in batch
                    )
                changed += moved
                break
            except StaleDataError:
                log.info("another run updated contracts %s.. at the same time", ids[start])
                break
            except OperationalError:
                # SQLite refuses a read transaction's first write when another writer committed
                # since it read; reading again sees that work, so one more try settles it
                if attempt == ATTEMPTS or db.engine.dialect.name != "sqlite":
                    raise
    return changed


# ---------------------------------------------------------------- 2. reminders


def _due(today: date) -> Any:
    def missing(kind: str) -> Any:
        return ~exists().where(
            ContractReminder.contract_id == Contract.id,
            ContractReminder.kind == kind,
            ContractReminder.end_date == Contract.end_date,
        )

    return (
        select(Contract.id, Contract.status)
        .where(
            Contract.deleted_at.is_(None),
            or_(
                and_(Contract.status == "expiring", missing("expiring")),
                and_(
                    Contract.status == "expired",
                    Contract.end_date >= today - timedelta(days=EXPIRED_NOTICE_DAYS),
                    missing("expired"),
                ),
            ),
        )
        .order_by(Contract.id)
    )


def write_reminders(settings: Settings, db: Database, *, today: date) -> int:
    with db.sessions() as session:
        due = list(session.execute(_due(today)))
    written = 0
    for contract_id, kind in due:
        try:
            with db.unit_of_work() as session:
                written += _remind(session, contract_id, kind)
        except IntegrityError:
            log.info("contract %s: %s reminder already sent by another run", contract_id, kind)
    return written


def _remind(session: Session, contract_id: int, kind: str) -> int:
    # the reminder row first, copied from the contract in one statement: if another run holds
    # this key already, it fails before anything else is written and the unit of work is
    # rolled back; being a write, it also takes SQLite's write lock before anything is read
    inserted = session.execute(
        insert(ContractReminder)
        .from_select(
            ["contract_id", "kind", "end_date", "user_id", "sent_at"],
            select(
                Contract.id,
                literal(kind),
                Contract.end_date,
                Contract.owner_id,
                literal(utcnow(), UTCDateTime()),
            ).where(Contract.id == contract_id, Contract.status == kind),
        )
        .returning(ContractReminder.id)
    ).scalar_one_or_none()
    if inserted is None:
        return 0  # its status moved on since the list was read
    contract = session.get(Contract, contract_id)
    assert contract is not None
    if contract.owner_id is not None:
        notifications.notify(
            session,
            user_id=contract.owner_id,
            kind=f"contract_{kind}",
            message=MESSAGES[kind],
            values=_values(session, contract),
            link=f"/sales/contracts/{contract.id}",
        )
    if kind == "expiring":
        events.emit(session, "contract.expiring", service.event_data(contract))
    return 1


def _values(session: Session, contract: Contract) -> dict[str, str]:
    customer = session.get(Customer, contract.customer_id)
    return {
        "number": contract.number,
        "title": contract.title,
        "customer": customer.name if customer is not None else "",
        "end_date": contract.end_date.isoformat(),
    }


# ---------------------------------------------------------------- 3. e-mail


def send_reminder_mail(settings: Settings, db: Database) -> int:
    return reminder_mail.send_unmailed(
        settings,
        db,
        model=ContractReminder,
        window=timedelta(days=MAIL_WINDOW_DAYS),
        build=_message,
    )


def _message(
    session: Session, settings: Settings, reminder: ContractReminder
) -> EmailMessage | None:
    """The owner's e-mail about the contract, in their language."""
    contract = session.get(Contract, reminder.contract_id)
    owner = session.get(User, reminder.user_id)
    if contract is None or owner is None:
        return None
    translations = i18n.translations(owner.locale or settings.default_locale)
    values = {**_values(session, contract), "end_date": reminder.end_date.isoformat()}
    link = f"{settings.public_url.rstrip('/')}/sales/contracts/{contract.id}"
    text = translations.gettext(MESSAGES[reminder.kind]).format(**values)
    footer = translations.gettext(MAIL_FOOTER).format(link=link)
    return mail.build(
        settings,
        to=owner.email,
        subject=translations.gettext(SUBJECTS[reminder.kind]).format(**values),
        text=f"{text}\n\n{footer}\n",
    )


# ---------------------------------------------------------------- CLI

contracts_app = typer.Typer(help="Contracts", no_args_is_help=True)


@contracts_app.command("refresh")
def refresh_command(
    today: Annotated[
        str, typer.Option("--today", help="Pretend it is this day (YYYY-MM-DD), for a catch-up")
    ] = "",
) -> None:
    """Update contract statuses and send due expiry reminders now (the job does it hourly)."""
    from guanxi.cli_support import CliError, console, database, settings

    current = settings()
    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        raise CliError("--today: write the date as YYYY-MM-DD") from None
    db = database(current)
    try:
        report = refresh(current, db, today=day)
    finally:
        db.dispose()
    console.print(
        f"statuses changed: {report.statuses_changed}, reminders: {report.reminders}, "
        f"e-mails: {report.emails}"
    )
