"""Follow-ups API: plan, reschedule, complete and list follow-ups."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/follow-ups", tags=["follow-ups"])
