"""Interaction pages: the interactions list, quick logging and the global "log a call" box."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
