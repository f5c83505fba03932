"""The caller lookup page (来电查询): a box for a name, phone fragment or part of a serial number,
the callers it finds, and the chosen caller's card, from which a ticket is opened. The box asks
``/service/lookup/results`` as the agent types (a page fragment, swapped in by a small script);
without the script the same form loads the whole page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from guanxi.analytics.lifecycle import STAGES
from guanxi.analytics.tiers import TIERS
from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import N_, NotFound, PermissionDenied
from guanxi.interactions.labels import CHANNEL_LABELS as INTERACTION_CHANNELS
from guanxi.sales.labels import ORDER_STATUS_LABELS
from guanxi.service_desk import lookup
from guanxi.service_desk.labels import KIND_LABELS, PRIORITY_LABELS, STATUS_LABELS
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)
LABELS = {
    "kind_labels": KIND_LABELS,
    "status_labels": STATUS_LABELS,
    "priority_labels": PRIORITY_LABELS,
    "tier_labels": TIERS,
    "stage_labels": STAGES,
    "interaction_channels": INTERACTION_CHANNELS,
    "order_status_labels": ORDER_STATUS_LABELS,
}


def _results(session: DbSession, actor: User, q: str, customer_id: str) -> dict[str, object]:
    if not actor.can("customers", "read"):
        raise PermissionDenied(
            N_("Your role may not {action} {resource}."), action="read", resource="customers"
        )
    matches = lookup.find_callers(session=session, actor=actor, q=q)
    chosen = int(customer_id) if customer_id.isdigit() else None
    if chosen is None and matches:
        chosen = matches[0].customer.id  # the best match's card shows at once
    card = None
    if chosen is not None:
        try:
            card = lookup.caller_card(session=session, actor=actor, customer_id=chosen)
        except NotFound:
            card = None  # an edited link to someone else's customer shows no card
    return {**LABELS, "q": q.strip(), "matches": matches, "card": card}


@router.get("/service/lookup", response_class=HTMLResponse)
def lookup_page(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("tickets", "read")],
    q: str = "",
    customer_id: str = "",
) -> HTMLResponse:
    return render(request, "service_desk/lookup.html", _results(session, actor, q, customer_id))


@router.get("/service/lookup/results", response_class=HTMLResponse)
def lookup_results(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("tickets", "read")],
    q: str = "",
    customer_id: str = "",
) -> HTMLResponse:
    """The matches and the card alone, for the script that searches as the agent types."""
    context = _results(session, actor, q, customer_id)
    return render(request, "service_desk/_lookup_results.html", context)
