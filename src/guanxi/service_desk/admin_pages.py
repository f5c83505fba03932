"""Administration of the service desk: SLA policies, the business calendar, queues, service
stations and routing rules."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
