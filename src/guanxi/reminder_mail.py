"""E-mail for reminders that were written in the app first (contract expiries, follow-ups due).

A reminder table has ``id``, ``user_id``, ``sent_at`` and ``emailed_at``. Each reminder not yet
mailed is claimed by a conditional UPDATE (``emailed_at`` set where it is still NULL, committed)
and only then sent, so two workers never mail the same reminder; a server that refuses or cannot
be reached clears the claim, and the next run tries again. A process that dies between the claim
and the server's answer loses that one e-mail (at most once; the in-app reminder stands), which
we prefer to duplicates. Reminders older than the window are not mailed, so switching e-mail on
later does not send a backlog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from guanxi import mail
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.db import Database, utcnow

log = logging.getLogger("guanxi.reminder_mail")

# (session, settings, reminder) -> the e-mail, or None when there is nothing to send any more
BuildMessage = Callable[[Session, Settings, Any], EmailMessage | None]


def send_unmailed(
    settings: Settings,
    db: Database,
    *,
    model: Any,
    window: timedelta,
    build: BuildMessage,
    now: datetime | None = None,
) -> int:
    """Mail the reminders of ``model`` written within ``window`` and not mailed yet, to
    active users with an address, through the admin's SMTP server if one is set. Returns how
    many the server accepted."""
    with db.sessions() as session:
        settings = mail.effective_settings(session, settings)
        if not mail.enabled(settings):
            return 0
        pending = list(
            session.scalars(
                select(model.id)
                .join(User, User.id == model.user_id)
                .where(
                    model.emailed_at.is_(None),
                    model.sent_at >= (now or utcnow()) - window,
                    User.email != "",
                    User.is_active.is_(True),
                )
                .order_by(model.id)
            )
        )
    sent = 0
    for reminder_id in pending:
        message = _claim(settings, db, model, reminder_id, build)
        if message is None:
            continue
        try:
            mail.send(settings, message)
        except mail.MailError:
            log.warning(
                "%s %s: e-mail failed; the next run retries", model.__tablename__, reminder_id
            )
            with db.unit_of_work() as session:
                session.execute(
                    update(model).where(model.id == reminder_id).values(emailed_at=None)
                )
            continue
        sent += 1
    return sent


def _claim(
    settings: Settings, db: Database, model: Any, reminder_id: int, build: BuildMessage
) -> EmailMessage | None:
    """Mark the reminder mailed if nobody has yet, and build its e-mail; None if taken (or if
    ``build`` finds nothing to send: the claim then stays, so it is not tried again)."""
    with db.unit_of_work() as session:
        claimed = session.execute(
            update(model)
            .where(model.id == reminder_id, model.emailed_at.is_(None))
            .values(emailed_at=utcnow())
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        reminder = session.get(model, reminder_id)
        assert reminder is not None and reminder.user_id is not None
        return build(session, settings, reminder)
