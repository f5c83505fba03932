"""JSON API for shops and ERP systems: orders upserted idempotently by their external id, one at a
time or thousands per request."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["orders"])
