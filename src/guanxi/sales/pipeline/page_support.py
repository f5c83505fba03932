"""What the pipeline pages share: stage names for people, the filter choices and safe returns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth import service as auth_service
from guanxi.auth.models import Team, User
from guanxi.auth.visibility import reachable_users, team_subtree
from guanxi.sales.labels import (
    DEFAULT_STAGE_LABELS,
    OPPORTUNITY_SOURCE_LABELS,
    STAGE_OUTCOME_LABELS,
)
from guanxi.sales.models import Product
from guanxi.web import i18n
from guanxi.web.pages import safe_next
from guanxi.web.templating import ENVIRONMENT


def stage_label(label: str) -> str:
    """A stage's name for people: the default stages translated, an administrator's as typed."""
    return i18n.gettext(label) if label in DEFAULT_STAGE_LABELS else label


ENVIRONMENT.filters["stage_label"] = stage_label


def filter_choices(session: Session, actor: User) -> dict[str, Any]:
    """What the owner, team, source and product filters offer."""
    return {
        "owners": reachable_users(session, actor),
        "teams": _teams(session, actor),
        "sources": OPPORTUNITY_SOURCE_LABELS,
        "products": list(
            session.scalars(
                select(Product).where(Product.is_active.is_(True)).order_by(Product.name).limit(500)
            )
        ),
    }


def _teams(session: Session, actor: User) -> list[Team]:
    """The teams whose records the actor sees by role: all, their own and those below, none."""
    scope = actor.role.record_scope
    if scope == "all":
        return auth_service.list_teams(session=session)
    if scope == "team" and actor.team_id is not None:
        below = team_subtree(actor.team_id)
        return list(session.scalars(select(Team).where(Team.id.in_(below)).order_by(Team.name)))
    return []


def safe_back(value: object, default: str = "/sales/pipeline") -> str:
    """A same-site path to return to (never another host)."""
    text = str(value or "")
    return text if text and safe_next(text) == text else default


def source_label(code: str) -> str:
    """A source's name for people: the known ones translated, others as typed."""
    known = OPPORTUNITY_SOURCE_LABELS.get(code)
    return i18n.gettext(known) if known else code


ENVIRONMENT.filters["source_label"] = source_label
ENVIRONMENT.globals["stage_outcome_labels"] = STAGE_OUTCOME_LABELS
