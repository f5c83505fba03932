"""E-mail pages: compose to a customer, templates, mailbox upload and the mail settings."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
