"""JSON API for saved segments under ``/api/v1/segments``: the definitions, their preview (size,
value, tiers, trend) and their members, always among the customers the caller may see."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerSummary
from guanxi.deps import DbSession, IfMatch, require
from guanxi.marketing.segments import service
from guanxi.marketing.segments.models import Segment
from guanxi.marketing.segments.schemas import (
    PreviewIn,
    SegmentCreate,
    SegmentPreview,
    SegmentRead,
    SegmentUpdate,
)
from guanxi.pagination import PageOut

router = APIRouter(prefix="/api/v1/segments", tags=["segments"])

Reader = Annotated[User, require("segments", "read")]


def to_read(segment: Segment) -> SegmentRead:
    pairs = service.pairs_of(segment)
    return SegmentRead(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        params=pairs,
        query=service.list_url(pairs).partition("?")[2],
        owner_id=segment.owner_id,
        version=segment.version,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
    )


@router.get("")
def list_segments(session: DbSession, actor: Reader) -> list[SegmentRead]:
    return [to_read(s) for s in service.list_segments(session=session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_segment(
    body: SegmentCreate,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("segments", "create")],
) -> SegmentRead:
    """Save a definition: ``{"name", "description", "params": [["tier", "vip"], ...]}``; a bad
    or unknown parameter is refused naming it."""
    segment = service.create(session=session, actor=actor, segment_in=body)
    response.headers["ETag"] = etag(segment.version)
    return to_read(segment)


@router.post("/preview")
def preview_definition(body: PreviewIn, session: DbSession, actor: Reader) -> SegmentPreview:
    """Size, value, tiers and trend of an unsaved definition (the explorer asks as it changes)."""
    return service.preview(session=session, actor=actor, params=body.params)


@router.get("/{segment_id:int}")
def read_segment(
    segment_id: int, response: Response, session: DbSession, actor: Reader
) -> SegmentRead:
    segment = service.get(session=session, segment_id=segment_id)
    response.headers["ETag"] = etag(segment.version)
    return to_read(segment)


@router.patch("/{segment_id:int}")
def update_segment(
    segment_id: int,
    body: SegmentUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("segments", "update")],
) -> SegmentRead:
    segment = service.get(session=session, segment_id=segment_id)
    segment = service.update(
        session=session,
        actor=actor,
        segment=segment,
        segment_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(segment.version)
    return to_read(segment)


@router.delete("/{segment_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_segment(
    segment_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("segments", "delete")],
) -> None:
    segment = service.get(session=session, segment_id=segment_id)
    service.delete(session=session, actor=actor, segment=segment, expected_version=expected_version)


@router.get("/{segment_id:int}/preview")
def preview_segment(segment_id: int, session: DbSession, actor: Reader) -> SegmentPreview:
    segment = service.get(session=session, segment_id=segment_id)
    return service.preview(session=session, actor=actor, params=service.pairs_of(segment))


@router.get("/{segment_id:int}/customers", dependencies=[require("customers", "read")])
def segment_customers(
    segment_id: int,
    session: DbSession,
    actor: Reader,
    sort: Literal["name", "created_at", "updated_at", "city", "id"] | None = None,
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> PageOut[CustomerSummary]:
    """The segment's members now, paged like ``/api/v1/customers``."""
    segment = service.get(session=session, segment_id=segment_id)
    page = customer_service.list_customers(
        session=session,
        actor=actor,
        spec=service.spec_for(service.pairs_of(segment)),
        sort=sort,
        descending=order == "desc",
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[customer_service.to_summary(c) for c in page.items], next_cursor=page.next_cursor
    )
