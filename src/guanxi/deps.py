"""Request dependencies: the unit of work, who is asking, and what each route requires.

Every route declares what it needs where it is declared: ``require("users", "read")`` for a
permission, ``authenticated`` for "any signed-in user", or ``public`` for the few routes anyone may
call. ``tests/test_routes.py`` walks the app and fails on a route that declares none of these.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.audit.chain import AuditActor
from guanxi.auth import login
from guanxi.auth.models import User, UserSession
from guanxi.concurrency import parse_if_match
from guanxi.config import Settings
from guanxi.errors import N_, GuanxiError, NotAuthenticated, PermissionDenied

SESSION_COOKIE = "guanxi_session"
CSRF_COOKIE = "guanxi_csrf"
LOCALE_COOKIE = "guanxi_locale"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PERMISSION_ATTRIBUTE = "guanxi_permission"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed before the response is sent, or rolled back."""
    with request.app.state.sessions() as session:
        try:
            yield session
        except GuanxiError as exc:
            if exc.keeps_work:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()


# scope="function": the commit runs before the response goes out, so a failed commit is an error
# response rather than a success reply for data that was never saved
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def session_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.resolved_secret_key(), salt="guanxi.session")


@dataclass(frozen=True)
class Principal:
    """The signed-in user and how they proved it."""

    user: User
    via: Literal["session", "token"]
    web_session: UserSession | None = None


def get_principal(request: Request, session: DbSession, settings: SettingsDep) -> Principal | None:
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal = _identify(request, session, settings)
    request.state.principal = principal
    request.state.viewer = Viewer.of(principal) if principal is not None else None
    if principal is not None:
        audit.set_actor(
            session,
            AuditActor(principal.user.id, principal.user.username, client_address(request)),
        )
    return principal


def _identify(request: Request, session: Session, settings: Settings) -> Principal | None:
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            raise NotAuthenticated(N_("Use 'Authorization: Bearer <token>'."))
        user = login.resolve_token(session=session, token=credentials.strip())
        if user is None:
            raise NotAuthenticated(N_("The token is unknown, expired or revoked."))
        return Principal(user, "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        token = session_serializer(settings).loads(
            cookie, max_age=settings.session_max_age_hours * 3600
        )
    except BadSignature:
        return None
    web_session = login.resolve_session(session=session, token=str(token))
    if web_session is None:
        return None
    return Principal(web_session.user, "session", web_session)


PrincipalDep = Annotated[Principal | None, Depends(get_principal)]


@dataclass(frozen=True)
class Viewer:
    """What pages need to know about the signed-in user, copied out of the ORM row so that an
    error page can still be drawn after the request's transaction was rolled back."""

    id: int
    username: str
    label: str
    role_name: str
    role_label: str
    locale: str | None
    timezone: str | None
    grants: frozenset[tuple[str, str]]
    csrf_token: str | None

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        user = principal.user
        session = principal.web_session
        return cls(
            id=user.id,
            username=user.username,
            label=user.label,
            role_name=user.role.name,
            role_label=user.role.label,
            locale=user.locale,
            timezone=user.timezone,
            grants=frozenset(user.role.grants()) if user.is_active else frozenset(),
            csrf_token=session.csrf_token if session is not None else None,
        )

    def can(self, resource: str, action: str) -> bool:
        return (resource, action) in self.grants


async def submitted_csrf_token(request: Request) -> str | None:
    """The CSRF token a browser sent with an unsafe request: header for scripts, field for forms."""
    if request.method not in _UNSAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


SubmittedCsrf = Annotated[str | None, Depends(submitted_csrf_token)]


def _check_csrf(request: Request, principal: Principal, submitted: str | None) -> None:
    # Bearer tokens are never sent by a browser on its own, so only cookie sessions need this.
    if request.method not in _UNSAFE_METHODS or principal.web_session is None:
        return
    expected = principal.web_session.csrf_token
    if not submitted or not secrets.compare_digest(submitted, expected):
        raise PermissionDenied(
            N_("The form has expired or did not come from this site; reload the page.")
        )


def _signed_in(request: Request, principal: Principal | None, submitted: str | None) -> User:
    if principal is None:
        raise NotAuthenticated(N_("Sign in first."))
    _check_csrf(request, principal, submitted)
    return principal.user


def _declare(dependency: Callable[..., Any], permission: str) -> Callable[..., Any]:
    setattr(dependency, PERMISSION_ATTRIBUTE, permission)
    return dependency


def require(resource: str, action: str) -> Any:
    """Depends() for a route that needs ``action`` on ``resource``; yields the acting user."""

    def dependency(request: Request, principal: PrincipalDep, submitted: SubmittedCsrf) -> User:
        user = _signed_in(request, principal, submitted)
        if not user.can(resource, action):
            raise PermissionDenied(
                N_("Your role may not {action} {resource}."), action=action, resource=resource
            )
        return user

    dependency.__name__ = f"require_{resource}_{action}"
    return Depends(_declare(dependency, f"{resource}:{action}"))


def _authenticated(request: Request, principal: PrincipalDep, submitted: SubmittedCsrf) -> User:
    return _signed_in(request, principal, submitted)


def _public() -> None:
    return None


authenticated = Depends(_declare(_authenticated, "authenticated"))
public = Depends(_declare(_public, "public"))
CurrentUser = Annotated[User, authenticated]


def anonymous_csrf(request: Request, submitted: SubmittedCsrf) -> None:
    """Double-submit check for forms shown before sign-in (the login form itself)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not secrets.compare_digest(cookie, submitted):
        raise PermissionDenied(N_("The form has expired; reload the page and try again."))


def if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
    return parse_if_match(if_match)


IfMatch = Annotated[int | None, Depends(if_match)]
