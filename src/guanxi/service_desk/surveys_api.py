"""Satisfaction surveys over JSON: /api/v1/surveys."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["surveys"])
