"""Order pages: list, record with invoices, shipments and returns, and the order form."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
