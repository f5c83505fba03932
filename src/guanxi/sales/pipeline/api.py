"""JSON API for opportunities, their stage moves and history, and the pipeline stages."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["opportunities"])
