"""Web behaviour events API: batched ingestion and linking visitors to customers."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/events", tags=["events"])
