"""Pipeline pages: the board (cards dragged between stage columns by mouse, pen or touch, or
moved with a select that works without script), and the router that gathers the opportunity and
stage pages."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import N_, GuanxiError, InvalidInput
from guanxi.sales.pipeline import listing, opportunity_pages, stage_pages, stages
from guanxi.sales.pipeline import service as pipeline_service
from guanxi.sales.pipeline.page_support import filter_choices, safe_back, stage_label
from guanxi.web import i18n
from guanxi.web.forms import FormData
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

BOARD_FILTERS = ("owner_id", "team_id", "source", "product_id", "customer_id")


@router.get("/sales/pipeline", response_class=HTMLResponse)
def pipeline_board(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
) -> HTMLResponse:
    """The board; filters in the URL: ``?owner_id=3&source=web&product_id=7``."""
    params = request.query_params
    message = None
    try:
        spec = listing.filter_from_query({k: params.get(k, "") for k in BOARD_FILTERS})
    except InvalidInput as refused:
        message = i18n.translate_template(refused.template, dict(refused.params))
        spec = listing.OpportunityFilter()
    board = listing.board(session=session, actor=actor, spec=spec)
    active = stages.list_stages(session=session, active_only=True)
    here = "/sales/pipeline" + ("?" + urlencode(_kept(params)) if _kept(params) else "")
    return render(
        request,
        "sales/pipeline_board.html",
        {
            **filter_choices(session, actor),
            "board": board,
            "stages": active,
            "values": {k: params.get(k, "") for k in BOARD_FILTERS},
            "filtered": bool(_kept(params)),
            "here": here,
            "message": message,
        },
        status_code=400 if message else 200,
    )


def _kept(params: Any) -> list[tuple[str, str]]:
    return [(k, params.get(k)) for k in BOARD_FILTERS if params.get(k)]


@router.post("/sales/opportunities/{opportunity_id:int}/move")
def move_from_form(
    opportunity_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("opportunities", "update")],
) -> Response:
    """The board's "move to" select, for keyboards and browsers without script."""
    back = safe_back(data.get("back"))
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    stage_id = str(data.get("stage_id", ""))
    version = str(data.get("version", ""))
    if not stage_id.isdigit():
        return redirect(request, back, flash=N_("Choose the stage to move to."))
    target = stages.get_stage(session=session, stage_id=int(stage_id))
    reason = str(data.get("lost_reason", "")).strip()
    if target.outcome == "lost" and not reason and target.id != opportunity.stage_id:
        # the reason is asked for on the record page, next to the stage it is lost at
        return redirect(
            request,
            f"/sales/opportunities/{opportunity.id}#lose",
            flash=N_("Say why the opportunity was lost."),
        )
    try:
        pipeline_service.move(
            session=session,
            actor=actor,
            opportunity=opportunity,
            stage_id=target.id,
            expected_version=int(version) if version.isdigit() else None,
            lost_reason=reason,
        )
    except GuanxiError as refused:
        session.rollback()
        return redirect(request, back, flash=refused.template, **refused.params)
    return redirect(
        request,
        back,
        flash=N_("{title} moved to {stage}."),
        title=opportunity.title,
        stage=stage_label(target.label),
    )


router.include_router(opportunity_pages.router)
router.include_router(stage_pages.router)
