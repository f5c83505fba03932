"""JSON API for contracts, renewals and contract statistics."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["contracts"])
