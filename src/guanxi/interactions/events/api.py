"""Web behaviour events API: batched ingestion, linking visitors to customers, and reading a
customer's events.

``POST /api/v1/events`` takes two kinds of caller. A shop's server or an integration sends an
API token with ``interactions:create`` and may say which customer each event belongs to. The
shop's pages send the public ingest key (header ``X-Guanxi-Ingest-Key``, or ``?key=`` where a
browser cannot set headers: ``navigator.sendBeacon``) and may not; the route is therefore
declared public and checks the key itself. A browser on another origin gets CORS answers for the
shop origins allowed on the admin page. The body is read as bytes and parsed in one pass
whatever its content type, since ``sendBeacon`` can only send ``text/plain`` without a
preflight.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session

from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth.models import User
from guanxi.deps import DbSession, PrincipalDep, client_address, public, require
from guanxi.errors import N_, PermissionDenied
from guanxi.interactions.events import ingest_settings as events_settings
from guanxi.interactions.events import service as events
from guanxi.interactions.events.schemas import (
    MAX_BODY_BYTES,
    ContentTooLarge,
    EventBatchIn,
    EventKind,
    EventsAccepted,
    IdentifyIn,
    IdentifyOut,
    WebEventRead,
    parse_batch,
)
from guanxi.pagination import PageOut

router = APIRouter(prefix="/api/v1/events", tags=["events"])

KEY_HEADER = "x-guanxi-ingest-key"
_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": f"content-type, {KEY_HEADER}",
    "Access-Control-Max-Age": "86400",
}


def _batch_schema() -> dict[str, Any]:
    """The batch's JSON schema with the event inlined, for the API documentation."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(EventBatchIn).json_schema()
    definitions = schema.pop("$defs", {})
    schema["properties"]["events"]["items"] = definitions.get("EventIn", {})
    return schema


async def _raw_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ContentTooLarge(
            N_("A batch may be at most {limit} bytes; send fewer events per request."),
            limit=MAX_BODY_BYTES,
        )
    return await request.body()


def ingest_caller(request: Request, session: DbSession, principal: PrincipalDep) -> User | None:
    """The token's user (trusted, may name customers), or None for a browser whose ingest key
    and origin were accepted."""
    if principal is not None and principal.via == "token":
        if not principal.user.can("interactions", "create"):
            raise PermissionDenied(
                N_("Your role may not {action} {resource}."),
                action="create",
                resource="interactions",
            )
        return principal.user
    # a signed-in browser session counts for nothing here: the shop's page sends the key
    settings = events_settings.load(session)
    key = request.headers.get(KEY_HEADER) or request.query_params.get("key")
    events_settings.check_key(settings, key=key, origin=request.headers.get("origin"))
    # the batch's audit entry says it came with the ingest key, and from where
    tracking.set_actor(session, AuditActor(None, "ingest-key", client_address(request)))
    return None


def _end_sign_in(session: Session) -> None:
    """On SQLite, end the transaction the sign-in read in, so that the write that follows starts
    a transaction of its own and waits for SQLite's one writer instead of failing
    (``events.write_first``)."""
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


def _allow_origin(request: Request, session: Session, response: Response) -> None:
    origin = request.headers.get("origin")
    response.headers["Vary"] = "Origin"
    if origin and events_settings.load(session).allows_origin(origin):
        response.headers["Access-Control-Allow-Origin"] = origin


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[public],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _batch_schema()}},
        }
    },
)
def ingest_events(
    request: Request,
    response: Response,
    session: DbSession,
    caller: Annotated[User | None, Depends(ingest_caller)],
    body: Annotated[bytes, Depends(_raw_body)],
) -> EventsAccepted:
    """Store a batch of up to 10,000 page and product views, all or none (422 naming
    ``events[i].field``; 413 for a bigger batch). Authenticate with an API token
    (``interactions:create``) or the public ingest key; only token callers may set
    ``customer_id`` / ``customer_external_id``."""
    batch = parse_batch(body)
    _end_sign_in(session)
    ingested = events.ingest(session, events=batch, actor=caller)
    if caller is None:
        _allow_origin(request, session, response)
    return EventsAccepted(accepted=ingested.accepted, linked=ingested.linked)


@router.options("", dependencies=[public], include_in_schema=False)
def preflight(request: Request, session: DbSession) -> Response:
    """CORS preflight for the snippet's ``fetch``: only the allowed shop origins get an answer a
    browser accepts."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=_PREFLIGHT_HEADERS)
    _allow_origin(request, session, response)
    return response


@router.post("/identify")
def identify_visitor(
    body: IdentifyIn,
    session: DbSession,
    actor: Annotated[User, require("interactions", "create")],
) -> IdentifyOut:
    """A shop visitor has logged in: link their visitor id to the customer (by ``customer_id``
    or the shop's ``customer_external_id``) and give the customer the visitor's earlier
    anonymous events. Called by the shop's server with its API token, never from a browser."""
    _end_sign_in(session)
    identified = events.identify(
        session,
        actor=actor,
        visitor_id=body.visitor_id,
        customer_id=body.customer_id,
        customer_external_id=body.customer_external_id,
    )
    return IdentifyOut(
        visitor_id=identified.visitor_id,
        customer_id=identified.customer_id,
        linked_events=identified.linked_events,
    )


@router.get("")
def list_events(
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
    customer_id: int,
    kind: EventKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> PageOut[WebEventRead]:
    """A customer's page and product views, newest first (404 for a customer the caller may
    not see)."""
    page = events.list_events(
        session, actor=actor, customer_id=customer_id, kind=kind, limit=limit, cursor=cursor
    )
    return PageOut(
        items=[WebEventRead.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )
