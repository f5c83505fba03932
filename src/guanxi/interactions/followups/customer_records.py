"""What follow-ups add to the customer record: the 360 page's panel of open follow-ups, with a
form to plan one. Listed in ``guanxi.customers.extensions.EXTENSION_MODULES``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import extensions
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.interactions.followups import service as followups
from guanxi.interactions.labels import CHANNEL_LABELS

PANEL_ROWS = 10


def _follow_ups_panel(session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    rows = followups.open_for_customer(
        session=session, actor=actor, customer_id=customer.id, limit=PANEL_ROWS
    )
    wanted = {f.assignee_id for f in rows if f.assignee_id is not None}
    assignees = (
        {u.id: u.label for u in session.scalars(select(User).where(User.id.in_(wanted)))}
        if wanted
        else {}
    )
    return {
        "customer": customer,
        "follow_ups": rows,
        "assignees": assignees,
        "channel_labels": CHANNEL_LABELS,
        "now": utcnow(),
    }


extensions.register_panel(
    extensions.Panel(
        "follow_ups",
        "interactions/_customer_follow_ups.html",
        "interactions",
        _follow_ups_panel,
        5,
    )
)
