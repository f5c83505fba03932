"""Pages for signing in and out and for one's own account (preferences, password, API tokens)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth import account_sections, login
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import ApiTokenCreate, PasswordChange, Preferences, UserUpdate
from guanxi.config import Settings
from guanxi.deps import (
    LOCALE_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    DbSession,
    PrincipalDep,
    SettingsDep,
    anonymous_csrf,
    client_address,
    public,
    session_serializer,
)
from guanxi.errors import N_
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.pages import safe_next
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
_YEAR = 365 * 24 * 3600


@router.get("/login", response_class=HTMLResponse, dependencies=[public])
def login_form(request: Request, principal: PrincipalDep, next: str = "/") -> Response:
    if principal is not None:
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"next": safe_next(next), "username": ""})


@router.post("/login", dependencies=[public, Depends(anonymous_csrf)])
def login_submit(
    request: Request, session: DbSession, settings: SettingsDep, data: FormData
) -> Response:
    username = str(data.get("username", ""))
    target = safe_next(str(data.get("next", "/")))
    try:
        user = login.authenticate(
            session=session,
            settings=settings,
            username=username,
            password=str(data.get("password", "")),
            ip_address=client_address(request),
        )
    except (login.LoginFailed, login.LoginThrottled) as exc:
        # keep the recorded attempt (throttling and audit) although sign-in failed
        session.commit()
        error = i18n.translate_template(exc.template, dict(exc.params))
        return render(
            request,
            "auth/login.html",
            {"next": target, "username": username, "error": error},
            status_code=exc.status,
        )
    started = login.start_session(
        session=session,
        settings=settings,
        user=user,
        ip_address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response = redirect(request, target)
    response.set_cookie(
        SESSION_COOKIE,
        session_serializer(settings).dumps(started.token),
        max_age=settings.session_max_age_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
    )
    if user.locale:
        response.set_cookie(LOCALE_COOKIE, user.locale, max_age=_YEAR, samesite="lax")
    return response


@router.post("/logout")
def logout(
    request: Request, session: DbSession, principal: PrincipalDep, user: CurrentUser
) -> Response:
    if principal is not None and principal.web_session is not None:
        login.end_session_record(session=session, record=principal.web_session)
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


def _account_page(
    request: Request,
    session: DbSession,
    user: User,
    invalid: FormInvalid | None = None,
    **context: Any,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    return render(
        request,
        "auth/account.html",
        {
            "tokens": login.list_tokens(session=session, user=user),
            "sections": account_sections.sections(session, settings, user),
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            **context,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, session: DbSession, user: CurrentUser) -> HTMLResponse:
    return _account_page(request, session, user)


@router.post("/account/preferences")
def account_preferences(
    request: Request, session: DbSession, user: CurrentUser, data: FormData
) -> Response:
    try:
        prefs = parse(Preferences, data)
        with refusals(session):
            auth_service.update_user(
                session=session,
                actor=user,
                user=user,
                user_in=UserUpdate(**prefs.model_dump(exclude_unset=True)),
                expected_version=None,
            )
    except FormInvalid as invalid:
        return _account_page(request, session, user, invalid)
    response = redirect(request, "/account", flash=N_("Your preferences are saved."))
    if user.locale:
        response.set_cookie(LOCALE_COOKIE, user.locale, max_age=_YEAR, samesite="lax")
    return response


@router.post("/account/password")
def account_password(
    request: Request, session: DbSession, user: CurrentUser, data: FormData
) -> Response:
    try:
        change = parse(PasswordChange, data)
        if not login.password_matches(user, change.current_password):
            raise FormInvalid(
                {"current_password": i18n.gettext(N_("The current password is not right."))}
            )
        with refusals(session):
            auth_service.update_user(
                session=session,
                actor=user,
                user=user,
                user_in=UserUpdate(password=change.new_password),
                expected_version=None,
            )
    except FormInvalid as invalid:
        return _account_page(request, session, user, invalid)
    # changing the password ended every session, this one too: sign in again with the new one
    response = redirect(request, "/login", flash=N_("Password changed. Sign in with the new one."))
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/account/tokens")
def account_create_token(
    request: Request, session: DbSession, user: CurrentUser, data: FormData
) -> Response:
    try:
        token_in = parse(ApiTokenCreate, data)
    except FormInvalid as invalid:
        return _account_page(request, session, user, invalid)
    issued = login.create_token(
        session=session, user=user, name=token_in.name, expires_in_days=token_in.expires_in_days
    )
    return _account_page(request, session, user, new_token=issued.token)


@router.post("/account/tokens/{token_id}/revoke")
def account_revoke_token(
    token_id: int, request: Request, session: DbSession, user: CurrentUser
) -> Response:
    login.revoke_token(session=session, user=user, token_id=token_id)
    return redirect(request, "/account", flash=N_("The token is revoked."))
