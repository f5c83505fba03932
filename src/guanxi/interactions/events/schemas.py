"""API shapes of web behaviour events: the ingested batch, identify, and events as read back.

A batch is parsed and checked straight from the request's bytes by pydantic-core (one pass, no
Python object per field beyond the event's dictionary): at thousands of events per request that
is most of what the API spends before the insert. An event's errors name its place in the batch,
``events[12].occurred_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from guanxi.errors import N_, FieldError, GuanxiError, InvalidInput

# at most this many events in one request (413 beyond), and this many bytes of JSON
MAX_EVENTS = 10_000
MAX_BODY_BYTES = 16 * 1024 * 1024

EventKind = Literal["page_view", "product_view"]
VisitorId = Annotated[str, Field(min_length=1, max_length=64)]


class EventIn(TypedDict):
    """One page or product view as the shop's snippet or backend sends it. A page view needs the
    ``url``, a product view the ``product_id`` or ``product_sku``. ``occurred_at`` without an
    offset is UTC. ``customer_id`` / ``customer_external_id`` are taken only from a caller with
    an API token; the browser snippet's visitors become customers through ``identify``."""

    kind: EventKind
    occurred_at: datetime
    visitor_id: VisitorId
    session_id: VisitorId
    url: NotRequired[Annotated[str, Field(max_length=2000)]]
    title: NotRequired[Annotated[str, Field(max_length=300)]]
    referrer: NotRequired[Annotated[str, Field(max_length=2000)]]
    product_id: NotRequired[Annotated[int, Field(ge=1, le=2**63 - 1)] | None]
    product_sku: NotRequired[Annotated[str, Field(max_length=64)]]
    dwell_seconds: NotRequired[Annotated[int, Field(ge=0, le=86_400)] | None]
    customer_id: NotRequired[Annotated[int, Field(ge=1)] | None]
    customer_external_id: NotRequired[Annotated[str, Field(min_length=1, max_length=100)] | None]


class EventBatchIn(TypedDict):
    """A batch of events: ``{"events": [...]}``, up to 10,000."""

    events: list[EventIn]


_BATCH: TypeAdapter[EventBatchIn] = TypeAdapter(EventBatchIn)


class ContentTooLarge(GuanxiError):
    status = 413
    slug = "content-too-large"
    title = N_("Content too large")


def parse_batch(body: bytes) -> list[EventIn]:
    """The events of a request body, or InvalidInput naming each wrong field
    (``events[3].kind``), or ContentTooLarge for more than ``MAX_EVENTS``."""
    if len(body) > MAX_BODY_BYTES:
        raise ContentTooLarge(
            N_("A batch may be at most {limit} bytes; send fewer events per request."),
            limit=MAX_BODY_BYTES,
        )
    try:
        batch = _BATCH.validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(
            N_("The batch has events with missing or wrong fields; nothing was stored."),
            errors=[
                FieldError(field_path(error["loc"]), error["msg"])
                for error in exc.errors(include_url=False)[:50]
            ],
        ) from exc
    events = batch["events"]
    if len(events) > MAX_EVENTS:
        raise ContentTooLarge(
            N_("A batch may hold at most {limit} events; this one has {count}."),
            limit=MAX_EVENTS,
            count=len(events),
        )
    return events


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("events", 12, "occurred_at")`` as ``events[12].occurred_at``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "body"


class EventsAccepted(BaseModel):
    """How many events of the batch were stored, and how many of them belong to a customer."""

    accepted: int
    linked: int


class IdentifyIn(BaseModel):
    """A shop visitor who has just logged in: their snippet visitor id and the customer, by
    Guanxi id or by the shop's own customer id (``external_id``)."""

    model_config = ConfigDict(extra="forbid")

    visitor_id: VisitorId
    customer_id: int | None = Field(default=None, ge=1)
    customer_external_id: str | None = Field(default=None, min_length=1, max_length=100)


class IdentifyOut(BaseModel):
    visitor_id: str
    customer_id: int
    # the visitor's earlier anonymous events now given to the customer
    linked_events: int


class WebEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    occurred_at: datetime
    received_at: datetime
    visitor_id: str
    session_id: str
    customer_id: int | None
    url: str
    title: str
    referrer: str
    product_id: int | None
    product_sku: str
    dwell_seconds: int | None


class WebEventSettingsIn(BaseModel):
    """The admin page's form: days to keep events, and the shop origins one per line."""

    retention_days: int
    allowed_origins: str = Field(default="", max_length=4000)

    def origins(self) -> list[str]:
        return [line.strip() for line in self.allowed_origins.splitlines() if line.strip()]
