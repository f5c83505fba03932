"""API shapes for the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_username: str
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]
    ip_address: str


class ChainReportRead(BaseModel):
    intact: bool
    checked: int
    first_bad_entry: int | None = None
    reason: str | None = None
