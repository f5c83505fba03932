"""Pipeline pages: the drag-and-drop board, the opportunity list, record and form, and the
stage administration."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
