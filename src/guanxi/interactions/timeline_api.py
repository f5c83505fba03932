"""JSON API for the customer timeline: the same newest-first stream as the customer 360 page,
for integrations (a call-centre screen pop, a shop's account page) and the timeline benchmark."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers import timeline
from guanxi.deps import DbSession, require
from guanxi.errors import N_, FieldError, InvalidInput

router = APIRouter(prefix="/api/v1", tags=["customers"])


class TimelineEntryOut(BaseModel):
    at: datetime = Field(description="When it happened (UTC)")
    kind: str = Field(description="The source: interactions, emails, follow_ups, orders, ...")
    title: str
    detail: str
    actor: str = Field(description="Who did it, if anybody")
    link: str | None = Field(description="The page of the record, if it has one")
    key: str = Field(description="Unique across kinds; orders entries of the same time")


class TimelineOut(BaseModel):
    items: list[TimelineEntryOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next, older page")


@router.get("/customers/{customer_id}/timeline")
def customer_timeline(
    customer_id: int,
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
    kind: Annotated[str, Query(description="Only entries of this kind")] = "",
    channel: Annotated[str, Query(description="Only touchpoints on this channel")] = "",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> TimelineOut:
    """The customer's timeline as the caller may see it, newest first; a customer the caller
    cannot see is not found."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    errors = []
    if kind and kind not in dict(timeline.kinds(actor)):
        errors.append(FieldError("kind", N_("Not one of the timeline's kinds.")))
    if channel and channel not in dict(timeline.channels(actor)):
        errors.append(FieldError("channel", N_("Not one of the known channels.")))
    if errors:
        raise InvalidInput(N_("The timeline cannot be filtered so."), errors=errors)
    page = timeline.stream(
        session,
        customer,
        actor=actor,
        kind=kind or None,
        channel=channel or None,
        cursor=cursor,
        limit=limit,
    )
    items = []
    for entry in page.entries:
        title, detail = timeline.text(entry)
        items.append(
            TimelineEntryOut(
                at=entry.at,
                kind=entry.kind,
                title=title,
                detail=detail,
                actor=entry.actor,
                link=entry.link,
                key=entry.key,
            )
        )
    return TimelineOut(items=items, next_cursor=page.next_cursor)
