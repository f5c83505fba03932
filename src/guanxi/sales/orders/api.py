"""JSON API for orders, invoices, shipments and returns, and the ERP upserts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["orders"])
