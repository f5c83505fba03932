"""Work list pages: the lists with how many customers each holds, and one list with each
customer's tier, stage, churn risk, last purchase, CLV and next best action, linked to their 360
page and to planning a follow-up. Who is on a list is decided in ``analytics.worklists``."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from guanxi.analytics import lifecycle, tiers, worklists
from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, require("analytics", "read")]
LABELS = {"tier_labels": tiers.TIERS, "stage_labels": lifecycle.STAGES}


def _scope_context(actor: User, scope: worklists.Scope) -> dict[str, object]:
    return {"scope": scope, "may_see_team": worklists.may_see_team(actor)}


@router.get("/analytics/worklists", response_class=HTMLResponse)
def worklists_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    scope: Literal["mine", "team"] = "mine",
) -> HTMLResponse:
    resolved = worklists.resolve_scope(actor, scope)
    return render(
        request,
        "analytics/worklists.html",
        {
            "lists": list(worklists.WORKLISTS.values()),
            "counts": worklists.counts(session=session, actor=actor, scope=resolved),
            **_scope_context(actor, resolved),
        },
    )


@router.get("/analytics/worklists/{name}", response_class=HTMLResponse)
def worklist_page(
    name: str,
    request: Request,
    session: DbSession,
    actor: Reader,
    scope: Literal["mine", "team"] = "mine",
) -> HTMLResponse:
    resolved = worklists.resolve_scope(actor, scope)
    page = worklists.worklist(session=session, actor=actor, name=name, scope=resolved)
    customer_list = None
    if page is not None and page.customer_filters is not None:
        customer_list = "/customers?" + urlencode(page.customer_filters)
    return render(
        request,
        "analytics/worklist.html",
        {
            "worklist": worklists.WORKLISTS[name],
            "page": page,
            "customer_list": customer_list,
            **_scope_context(actor, resolved),
            **LABELS,
        },
    )
