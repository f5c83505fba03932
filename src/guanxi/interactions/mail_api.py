"""E-mail API: send to a customer, templates, mailbox uploads and mail settings."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["e-mail"])
