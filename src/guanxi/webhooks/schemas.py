"""API shapes for webhook endpoints, their deliveries and the attempts of each delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from guanxi.errors import N_
from guanxi.webhooks.events import EVENT_TYPES

DeliveryStatus = Literal["pending", "succeeded", "failed"]
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "succeeded", "failed")


def _checked_url(value: str) -> str:
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError as exc:
        raise ValueError(N_("Not a web address.")) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(N_("Give an http:// or https:// address."))
    return value


def _checked_event_types(value: list[str]) -> list[str]:
    unknown = [t for t in value if t not in EVENT_TYPES]
    if unknown:
        raise ValueError(N_("Unknown event type."))
    return list(dict.fromkeys(value))  # keep the order given, drop repeats


class WebhookEndpointCreate(BaseModel):
    url: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=200)
    event_types: list[str] = Field(
        default_factory=list, description="Event types to receive; empty receives every one"
    )
    is_active: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _checked_url(value)

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return _checked_event_types(value)


class WebhookEndpointUpdate(BaseModel):
    url: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=200)
    event_types: list[str] | None = None
    is_active: bool | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _checked_url(value)

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _checked_event_types(value)


class WebhookEndpointRead(BaseModel):
    id: int
    url: str
    description: str
    event_types: list[str]
    is_active: bool
    secret_hint: str = Field(description="The start of the signing secret, to tell secrets apart")
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookEndpointCreated(WebhookEndpointRead):
    secret: str = Field(description="The signing secret; shown now and never again")


class WebhookSecret(BaseModel):
    secret: str = Field(description="The new signing secret; shown now and never again")


class WebhookDeliverySummary(BaseModel):
    id: int
    endpoint_id: int
    message_id: str = Field(description="Sent as webhook-id; the same for every attempt")
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookAttemptRead(BaseModel):
    id: int
    attempted_at: datetime
    status_code: int | None
    error: str
    response_excerpt: str
    duration_ms: int
    replay: bool


class WebhookDeliveryRead(WebhookDeliverySummary):
    body: str = Field(description="The exact bytes sent (UTF-8), which the signature covers")
    attempts: list[WebhookAttemptRead]
