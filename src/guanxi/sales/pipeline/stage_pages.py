"""The stage administration page: add, rename, set the default probability and outcome, move
up or down, retire, bring back and delete stages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import N_, GuanxiError
from guanxi.sales.labels import STAGE_OUTCOME_LABELS
from guanxi.sales.models import Opportunity
from guanxi.sales.pipeline import stages
from guanxi.sales.pipeline.schemas import StageCreate, StageUpdate
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
HERE = "/sales/pipeline/stages"


def _page(
    request: Request,
    session: DbSession,
    values: dict[str, object] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    held = dict(
        session.execute(
            select(Opportunity.stage_id, func.count(Opportunity.id))
            .where(Opportunity.deleted_at.is_(None))
            .group_by(Opportunity.stage_id)
        ).all()
    )
    return render(
        request,
        "sales/stages_admin.html",
        {
            "stages": stages.list_stages(session=session),
            "held": held,
            "outcomes": STAGE_OUTCOME_LABELS,
            "values": values or {"probability": 0, "outcome": "open"},
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get(HERE, response_class=HTMLResponse)
def stages_page(
    request: Request, session: DbSession, actor: Annotated[User, require("settings", "manage")]
) -> HTMLResponse:
    return _page(request, session)


@router.post(HERE)
def stage_create(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("settings", "manage")],
) -> Response:
    try:
        stage_in = parse(StageCreate, data)
        with refusals(session):
            stage = stages.create_stage(session=session, actor=actor, stage_in=stage_in)
    except FormInvalid as invalid:
        return _page(request, session, data, invalid)
    return redirect(request, HERE, flash=N_("Stage {label} added."), label=stage.label)


@router.post(HERE + "/{stage_id:int}")
def stage_update(
    stage_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("settings", "manage")],
) -> Response:
    """One row's form: its fields, or a button (``action``: up, down, retire, restore, delete)."""
    stage = stages.get_stage(session=session, stage_id=stage_id)
    version = str(data.pop("version", ""))
    expected = int(version) if version.isdigit() else None
    action = str(data.pop("action", "save"))
    try:
        if action in ("up", "down"):
            ordered = [s.id for s in stages.list_stages(session=session)]
            at = ordered.index(stage.id)
            other = at - 1 if action == "up" else at + 1
            if 0 <= other < len(ordered):
                ordered[at], ordered[other] = ordered[other], ordered[at]
                stages.reorder_stages(session=session, actor=actor, stage_ids=ordered)
        elif action == "delete":
            stages.delete_stage(
                session=session, actor=actor, stage=stage, expected_version=expected
            )
            return redirect(request, HERE, flash=N_("Stage deleted."))
        else:
            if action in ("retire", "restore"):
                stage_in = StageUpdate(is_active=action == "restore")
            else:
                stage_in = parse(StageUpdate, data)
            stages.update_stage(
                session=session,
                actor=actor,
                stage=stage,
                stage_in=stage_in,
                expected_version=expected,
            )
    except FormInvalid:
        return redirect(
            request, HERE, flash=N_("A label is required and the probability runs from 0 to 100.")
        )
    except GuanxiError as refused:
        session.rollback()
        return redirect(request, HERE, flash=refused.template, **refused.params)
    return redirect(request, HERE, flash=N_("Stages saved."))
