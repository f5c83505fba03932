"""Product pages: the catalogue list, the product form, and product import."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
