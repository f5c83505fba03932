"""Follow-up pages: "my day" with overdue, today and upcoming, and the follow-up forms."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
