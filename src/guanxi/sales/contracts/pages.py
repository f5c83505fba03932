"""Contract pages: list, record, form, renewal and statistics."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
