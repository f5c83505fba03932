"""The funnel analysis page (漏斗分析): a period and filters in the URL, the funnel drawn as bars
with the same numbers in a table, drop-off and days in stage, win rates by owner, source and
product, and the weighted forecast by month. Plain HTML and CSS: no script needed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import Team, User
from guanxi.auth.visibility import reachable_users, team_subtree
from guanxi.deps import DbSession, require
from guanxi.errors import N_, InvalidInput
from guanxi.sales.funnel import service
from guanxi.sales.funnel.api import default_period
from guanxi.sales.labels import OPPORTUNITY_SOURCE_LABELS
from guanxi.sales.models import Product
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)

FIELDS = ("start", "end", "owner_id", "team_id", "source", "product_id", "months")
PRODUCT_CHOICES = 500  # beyond this many products the filter is a number field


class _Refused(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


def _parse(values: dict[str, str]) -> dict[str, Any]:
    """The URL's filters as typed values; every malformed one is reported, not just the first."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name in ("start", "end"):
        raw = values.get(name, "")
        try:
            parsed[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = N_("Enter a date as YYYY-MM-DD.")
    for name in ("owner_id", "team_id", "product_id"):
        raw = values.get(name, "")
        if raw and not raw.isdigit():
            errors[name] = N_("Choose from the list.")
        parsed[name] = int(raw) if raw.isdigit() else None
    raw_months = values.get("months", "") or "6"
    if not raw_months.isdigit() or not 1 <= int(raw_months) <= service.MAX_FORECAST_MONTHS:
        errors["months"] = N_("Between 1 and 24 months.")
    else:
        parsed["months"] = int(raw_months)
    parsed["source"] = values.get("source", "")[:60] or None
    if errors:
        raise _Refused(errors)
    return parsed


def _teams(session: Session, actor: User) -> list[Team]:
    scope = actor.role.record_scope
    if scope == "own" or (scope == "team" and actor.team_id is None):
        return []
    stmt = select(Team).order_by(Team.name)
    if scope == "team" and actor.team_id is not None:
        stmt = stmt.where(Team.id.in_(team_subtree(actor.team_id)))
    return list(session.scalars(stmt))


def _choices(session: Session, actor: User) -> dict[str, Any]:
    products = list(
        session.execute(
            select(Product.id, Product.name)
            .where(Product.is_active.is_(True))
            .order_by(Product.name)
            .limit(PRODUCT_CHOICES + 1)
        )
    )
    return {
        "owners": reachable_users(session, actor),
        "teams": _teams(session, actor),
        "sources": OPPORTUNITY_SOURCE_LABELS,
        "products": products if len(products) <= PRODUCT_CHOICES else None,
    }


@router.get("/sales/funnel", response_class=HTMLResponse)
def funnel_page(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
) -> HTMLResponse:
    values = {name: request.query_params.get(name, "").strip() for name in FIELDS}
    context: dict[str, Any] = {"values": values, "errors": {}, **_choices(session, actor)}
    try:
        parsed = _parse(values)
        start, end = default_period(parsed["start"], parsed["end"])
        values["start"], values["end"] = start.isoformat(), end.isoformat()
        filters = {k: parsed[k] for k in ("owner_id", "team_id", "source", "product_id")}
        period = {"period_start": start, "period_end": end, **filters}
        context["report"] = service.funnel(session=session, actor=actor, **period)
        context["rates"] = {
            by: service.win_rates(session=session, actor=actor, by=by, **period)
            for by in ("owner", "source", "product")
        }
        context["forecast"] = service.forecast(
            session=session, actor=actor, months=parsed["months"], **filters
        )
    except _Refused as refused:
        context["errors"] = refused.errors
    except InvalidInput as invalid:
        context["errors"] = {e.field: e.message for e in invalid.errors}
    return render(
        request, "sales/funnel.html", context, status_code=422 if context["errors"] else 200
    )
