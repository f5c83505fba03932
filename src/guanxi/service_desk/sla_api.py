"""SLA policies and the business calendar over JSON: /api/v1/sla-policies."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["sla"])
