"""Pages for customers: the list with filters and bulk actions, the customer 360 page, forms."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
