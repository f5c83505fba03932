"""Service stations, queues and routing rules over JSON: /api/v1/service-stations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["service stations"])
