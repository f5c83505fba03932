"""The satisfaction report for managers, administrators and analysts: /service/satisfaction.

CSAT and NPS by value tier, lifecycle stage and saved segment, and complaints by category and
root cause per month, over the tickets the reader may see (``service_desk.satisfaction``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.analytics.lifecycle import STAGES
from guanxi.analytics.tiers import TIERS
from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import InvalidInput
from guanxi.service_desk import satisfaction
from guanxi.web import i18n
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, require("reports", "read")]
PERIODS = ("", "30d", "90d", "365d")


@router.get("/service/satisfaction", response_class=HTMLResponse)
def satisfaction_report(
    request: Request, session: DbSession, actor: Reader, period: str = ""
) -> Response:
    error = None
    try:
        span = satisfaction.parse_period(period)
    except InvalidInput as exc:
        error = i18n.gettext(exc.errors[0].message)
        span = satisfaction.Period()
    return render(
        request,
        "service_desk/satisfaction.html",
        {
            "period": period,
            "periods": PERIODS,
            "error": error,
            "summary": satisfaction.summary(session, actor=actor, period=span),
            "complaints": satisfaction.complaints(session, actor=actor, period=span),
            "tier_labels": TIERS,
            "stage_labels": STAGES,
        },
        status_code=422 if error else 200,
    )
