"""The satisfaction survey a customer answers from the link in their mail, without signing in.

A used or expired link answers 410 Gone and a forged one 404, each with a page a customer can
read rather than an error screen of the staff app. The form is protected by the anonymous
double-submit CSRF check the sign-in form uses.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.deps import DbSession, SettingsDep, anonymous_csrf, client_address, public
from guanxi.errors import Gone, GuanxiError, InvalidInput, NotFound
from guanxi.service_desk import surveys
from guanxi.service_desk.models import Survey, Ticket
from guanxi.web import i18n
from guanxi.web.forms import FormData, service_error
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)


def _closed(request: Request, error: GuanxiError) -> HTMLResponse:
    """The friendly page for a link that cannot be answered (any more)."""
    return render(
        request,
        "service_desk/survey_closed.html",
        {
            "gone": isinstance(error, Gone),
            "detail": i18n.translate_template(error.template, dict(error.params)),
        },
        status_code=error.status,
    )


def _form(
    request: Request,
    survey: Survey,
    ticket: Ticket | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "service_desk/survey.html",
        {
            "survey": survey,
            "ticket": ticket,
            "values": values or {"csat": "", "nps": "", "comment": ""},
            "errors": errors or {},
            "message": message,
        },
        status_code=422 if errors or message else 200,
    )


@router.get("/survey/{token}", response_class=HTMLResponse, dependencies=[public])
def survey_form(
    request: Request, token: str, session: DbSession, settings: SettingsDep
) -> Response:
    try:
        survey = surveys.open_survey(session, settings=settings, token=token)
    except (Gone, NotFound) as exc:
        return _closed(request, exc)
    return _form(request, survey, session.get(Ticket, survey.ticket_id))


@router.post(
    "/survey/{token}",
    response_class=HTMLResponse,
    dependencies=[public, Depends(anonymous_csrf)],
)
def survey_submit(
    request: Request, token: str, session: DbSession, settings: SettingsDep, data: FormData
) -> Response:
    values = {name: str(data.get(name, "")) for name in ("csat", "nps", "comment")}
    tracking.set_actor(session, AuditActor(None, "survey-link", client_address(request)))
    try:
        answer_in = surveys.parse_answer(values["csat"], values["nps"], values["comment"])
        surveys.answer(session, settings=settings, token=token, answer_in=answer_in)
    except (Gone, NotFound) as exc:
        return _closed(request, exc)
    except InvalidInput as exc:
        try:
            survey = surveys.open_survey(session, settings=settings, token=token)
        except (Gone, NotFound) as closed:
            return _closed(request, closed)
        refused = service_error(exc)
        return _form(
            request,
            survey,
            session.get(Ticket, survey.ticket_id),
            values=values,
            errors=refused.errors,
            message=refused.message,
        )
    return render(request, "service_desk/survey_thanks.html")
