"""JSON API for webhook endpoints and their delivery log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
