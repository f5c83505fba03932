"""JSON API for the funnel analysis and the weighted pipeline forecast."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["funnel"])
