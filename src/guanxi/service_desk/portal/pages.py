"""The customer self-service portal (自助服务) at /portal, separate from the staff app."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
