"""Pages for importing and exporting customers and contacts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
