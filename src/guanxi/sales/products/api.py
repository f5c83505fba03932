"""JSON API for products: list, read, create, update, and upsert by external id."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["products"])
