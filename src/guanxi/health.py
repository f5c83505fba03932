"""Liveness and readiness for load balancers and monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

from guanxi import __version__
from guanxi.deps import public
from guanxi.errors import N_, ServiceUnavailable

router = APIRouter(prefix="/api/v1", tags=["system"])


@router.get("/health", dependencies=[public])
def health(request: Request) -> dict[str, str]:
    """OK when the app can reach its database; 503 problem details when it cannot."""
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        raise ServiceUnavailable(N_("The database is not reachable.")) from exc
    return {"status": "ok", "database": "ok", "version": __version__}
