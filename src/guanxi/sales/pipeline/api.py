"""JSON API for opportunities, their stage moves and history, the board and the pipeline stages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, require
from guanxi.pagination import PageOut
from guanxi.sales.pipeline import listing, stages
from guanxi.sales.pipeline import service as pipeline_service
from guanxi.sales.pipeline.schemas import (
    Board,
    OpportunityCreate,
    OpportunityMove,
    OpportunityRead,
    OpportunityUpdate,
    OpportunityWin,
    StageChangeRead,
    StageCreate,
    StageOrder,
    StageRead,
    StageUpdate,
    WinResult,
)

router = APIRouter(prefix="/api/v1", tags=["opportunities"])
Limit = Annotated[int, Query(ge=1, le=500)]
# administering stages changes the pipeline for every team: an administrator's task
STAGE_ADMIN = require("settings", "manage")
Sort = Literal[
    "expected_close_date",
    "amount",
    "probability",
    "title",
    "created_at",
    "updated_at",
    "stage_changed_at",
]


@router.get("/opportunities")
def list_opportunities(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
    sort: Sort = "updated_at",
    order: Literal["asc", "desc"] = "desc",
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[OpportunityRead]:
    """Filter by ``stage_id``, ``owner_id``, ``team_id``, ``customer_id``, ``product_id``,
    ``source``, ``close_from``/``close_to`` (dates), ``amount_min``/``amount_max``,
    ``status`` (open, won, lost) and ``q`` (part of the title)."""
    page = listing.list_opportunities(
        session=session,
        actor=actor,
        spec=listing.filter_from_query(request.query_params),
        sort=sort,
        descending=order == "desc",
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[pipeline_service.to_read(o) for o in page.items], next_cursor=page.next_cursor
    )


@router.post("/opportunities", status_code=status.HTTP_201_CREATED)
def create_opportunity(
    body: OpportunityCreate,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "create")],
) -> OpportunityRead:
    opportunity = pipeline_service.create(session=session, actor=actor, opportunity_in=body)
    response.headers["ETag"] = etag(opportunity.version)
    return pipeline_service.to_read(opportunity)


@router.get("/opportunities/board")
def read_board(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
    per_column: Annotated[int, Query(ge=0, le=200)] = listing.CARDS_PER_COLUMN,
) -> Board:
    """Columns per active stage with totals over every match and the first cards; the same
    filters as the list."""
    return listing.board(
        session=session,
        actor=actor,
        spec=listing.filter_from_query(request.query_params),
        per_column=per_column,
    )


@router.get("/opportunities/{opportunity_id:int}")
def read_opportunity(
    opportunity_id: int,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
) -> OpportunityRead:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    response.headers["ETag"] = etag(opportunity.version)
    return pipeline_service.to_read(opportunity)


@router.patch("/opportunities/{opportunity_id:int}")
def update_opportunity(
    opportunity_id: int,
    body: OpportunityUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("opportunities", "update")],
) -> OpportunityRead:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    opportunity = pipeline_service.update(
        session=session,
        actor=actor,
        opportunity=opportunity,
        opportunity_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(opportunity.version)
    return pipeline_service.to_read(opportunity)


@router.delete("/opportunities/{opportunity_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_opportunity(
    opportunity_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("opportunities", "delete")],
) -> None:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    pipeline_service.delete(
        session=session, actor=actor, opportunity=opportunity, expected_version=expected_version
    )


@router.post("/opportunities/{opportunity_id:int}/move")
def move_opportunity(
    opportunity_id: int,
    body: OpportunityMove,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "update")],
) -> OpportunityRead:
    """Move to ``stage_id`` (a lost stage needs ``lost_reason``); a stale ``version`` is 409."""
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    opportunity = pipeline_service.move(
        session=session,
        actor=actor,
        opportunity=opportunity,
        stage_id=body.stage_id,
        expected_version=body.version,
        lost_reason=body.lost_reason,
    )
    response.headers["ETag"] = etag(opportunity.version)
    return pipeline_service.to_read(opportunity)


@router.post("/opportunities/{opportunity_id:int}/win")
def win_opportunity(
    opportunity_id: int,
    body: OpportunityWin,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "update")],
) -> WinResult:
    """Move to the won stage; with ``create_order`` also create its draft order (which needs
    permission to create orders)."""
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    opportunity, order = pipeline_service.win(
        session=session,
        actor=actor,
        opportunity=opportunity,
        create_order=body.create_order,
        expected_version=body.version,
    )
    return WinResult(
        opportunity=pipeline_service.to_read(opportunity),
        order_id=order.id if order is not None else None,
    )


@router.get("/opportunities/{opportunity_id:int}/history")
def opportunity_history(
    opportunity_id: int,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
) -> list[StageChangeRead]:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    return pipeline_service.history(session=session, opportunity=opportunity)


# ---------------------------------------------------------------- stages


@router.get("/pipeline-stages", tags=["pipeline stages"])
def list_stages(
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
    active: bool = False,
) -> list[StageRead]:
    return [
        StageRead.model_validate(s) for s in stages.list_stages(session=session, active_only=active)
    ]


@router.post("/pipeline-stages", tags=["pipeline stages"], status_code=status.HTTP_201_CREATED)
def create_stage(
    body: StageCreate, session: DbSession, actor: Annotated[User, STAGE_ADMIN]
) -> StageRead:
    return StageRead.model_validate(
        stages.create_stage(session=session, actor=actor, stage_in=body)
    )


@router.put("/pipeline-stages/order", tags=["pipeline stages"])
def reorder_stages(
    body: StageOrder, session: DbSession, actor: Annotated[User, STAGE_ADMIN]
) -> list[StageRead]:
    ordered = stages.reorder_stages(session=session, actor=actor, stage_ids=body.stage_ids)
    return [StageRead.model_validate(s) for s in ordered]


@router.patch("/pipeline-stages/{stage_id:int}", tags=["pipeline stages"])
def update_stage(
    stage_id: int,
    body: StageUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, STAGE_ADMIN],
) -> StageRead:
    stage = stages.get_stage(session=session, stage_id=stage_id)
    stage = stages.update_stage(
        session=session,
        actor=actor,
        stage=stage,
        stage_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(stage.version)
    return StageRead.model_validate(stage)


@router.delete(
    "/pipeline-stages/{stage_id:int}",
    tags=["pipeline stages"],
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_stage(
    stage_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, STAGE_ADMIN],
) -> None:
    stage = stages.get_stage(session=session, stage_id=stage_id)
    stages.delete_stage(
        session=session, actor=actor, stage=stage, expected_version=expected_version
    )
