"""Interactions API: log, list, read, change and delete touchpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/interactions", tags=["interactions"])
