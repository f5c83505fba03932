"""Web events settings page: retention, the ingestion key and the snippet to include."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
