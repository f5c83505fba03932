"""JSON API for the signed-in user's notifications."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["notifications"])
