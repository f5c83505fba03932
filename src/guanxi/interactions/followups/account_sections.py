"""What the touch centre adds to the user's account page: the address of their personal
calendar feed, to copy into a calendar app, or revoke. Listed in
``guanxi.auth.account_sections.SECTION_MODULES``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from guanxi.auth import account_sections
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.interactions.followups import calendar_feed


def _calendar(session: Session, settings: Settings, user: User) -> dict[str, Any]:
    return {"url": calendar_feed.current_url(session=session, settings=settings, user=user)}


account_sections.register_section(
    account_sections.Section(
        "calendar", "interactions/_calendar_feed.html", "interactions", _calendar, 10
    )
)
