"""The service desk's pages: queues, tickets and the caller lookup."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
