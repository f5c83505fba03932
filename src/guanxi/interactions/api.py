"""Interactions API: log, list, read, change and delete touchpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, require
from guanxi.interactions import service
from guanxi.interactions.schemas import (
    Channel,
    Direction,
    InteractionCreate,
    InteractionPage,
    InteractionRead,
    InteractionUpdate,
)

router = APIRouter(prefix="/api/v1/interactions", tags=["interactions"])
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("")
def list_interactions(
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
    customer_id: int | None = None,
    channel: Channel | None = None,
    direction: Direction | None = None,
    user_id: Annotated[int | None, Query(description="Who had the touchpoint")] = None,
    occurred_from: Annotated[
        datetime | None, Query(alias="from", description="Inclusive; without a zone, UTC")
    ] = None,
    occurred_to: Annotated[
        datetime | None, Query(alias="to", description="Exclusive; without a zone, UTC")
    ] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> InteractionPage:
    """Interactions of the customers the caller may see, latest first. A ``customer_id`` the
    caller may not see answers 404."""
    page = service.list_interactions(
        session=session,
        actor=actor,
        customer_id=customer_id,
        channel=channel,
        direction=direction,
        user_id=user_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        limit=limit,
        cursor=cursor,
    )
    return InteractionPage(
        items=service.to_reads(session, page.items), next_cursor=page.next_cursor
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_interaction(
    body: InteractionCreate,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("interactions", "create")],
) -> InteractionRead:
    """Log a touchpoint with a customer the caller may see; it is the caller's own."""
    interaction = service.create(session=session, actor=actor, interaction_in=body)
    response.headers["ETag"] = etag(interaction.version)
    response.headers["Location"] = f"/api/v1/interactions/{interaction.id}"
    return service.to_read(session, interaction)


@router.get("/{interaction_id:int}")
def read_interaction(
    interaction_id: int,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
) -> InteractionRead:
    interaction = service.get(session=session, actor=actor, interaction_id=interaction_id)
    response.headers["ETag"] = etag(interaction.version)
    return service.to_read(session, interaction)


@router.patch("/{interaction_id:int}")
def update_interaction(
    interaction_id: int,
    body: InteractionUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("interactions", "update")],
) -> InteractionRead:
    interaction = service.get(session=session, actor=actor, interaction_id=interaction_id)
    service.apply_update(
        session=session,
        actor=actor,
        interaction=interaction,
        interaction_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(interaction.version)
    return service.to_read(session, interaction)


@router.delete("/{interaction_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_interaction(
    interaction_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("interactions", "delete")],
) -> Response:
    interaction = service.get(session=session, actor=actor, interaction_id=interaction_id)
    service.delete(session=session, interaction=interaction, expected_version=expected_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
