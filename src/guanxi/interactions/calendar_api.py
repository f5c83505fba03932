"""Personal iCalendar feeds: the secret URL (GET /api/v1/me/calendar) and the feed itself."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["calendar"])
