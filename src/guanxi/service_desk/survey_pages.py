"""The satisfaction survey a customer answers from the link in their mail, without signing in."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
