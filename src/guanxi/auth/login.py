"""Signing in: password checks with throttling, browser sessions and API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.audit.chain import AuditActor
from guanxi.auth.models import ApiToken, LoginAttempt, User, UserSession
from guanxi.auth.passwords import hash_password, needs_rehash, verify_password
from guanxi.config import Settings
from guanxi.db import utcnow
from guanxi.errors import N_, NotAuthenticated, NotFound, TooManyRequests

TOKEN_PREFIX = "gx_"  # noqa: S105 - a prefix that marks Guanxi tokens, not a secret
GENERIC_LOGIN_ERROR = N_("Invalid username or password.")
THROTTLED_LOGIN_ERROR = N_("Too many failed sign-in attempts. Wait a few minutes and try again.")


class LoginFailed(NotAuthenticated):
    """A failed sign-in. The attempt it records must be kept although the request fails."""

    keeps_work = True


class LoginThrottled(TooManyRequests):
    keeps_work = True


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(
    *, session: Session, settings: Settings, username: str, password: str, ip_address: str
) -> User:
    """Check a username and password, or raise one error that does not reveal which was wrong.

    Failures are throttled per account and per address; the account count applies to unknown
    usernames too, so throttling does not reveal which accounts exist either.
    """
    username = username.strip().lower()[:60]
    ip_address = ip_address[:64]
    audit.set_actor(session, AuditActor(None, username or "-", ip_address))
    window_start = utcnow() - timedelta(minutes=settings.login_window_minutes)
    if _too_many_failures(session, username, ip_address, window_start, settings):
        audit.record(session, "login.throttled", "user", username)
        raise LoginThrottled(
            THROTTLED_LOGIN_ERROR, retry_after_seconds=settings.login_window_minutes * 60
        )
    user = session.scalar(select(User).where(User.username == username))
    # verify the password even for unknown users so timing does not reveal which usernames exist
    password_ok = verify_password(user.password_hash if user else None, password)
    succeeded = bool(user and password_ok and user.is_active)
    session.add(LoginAttempt(username=username, ip_address=ip_address, succeeded=succeeded))
    if not succeeded or user is None:
        audit.record(session, "login.failed", "user", user.id if user else username)
        raise LoginFailed(GENERIC_LOGIN_ERROR)
    audit.set_actor(session, AuditActor(user.id, user.username, ip_address))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(session, "login.succeeded", "user", user.id)
    session.flush()
    return user


def _too_many_failures(
    session: Session, username: str, ip_address: str, since: datetime, settings: Settings
) -> bool:
    last_success = (
        select(func.max(LoginAttempt.attempted_at))
        .where(LoginAttempt.username == username, LoginAttempt.succeeded.is_(True))
        .scalar_subquery()
    )
    account_failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at >= since,
            LoginAttempt.attempted_at > func.coalesce(last_success, since),
        )
    )
    if (account_failures or 0) >= settings.login_max_failures_per_account:
        return True
    address_failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.ip_address == ip_address,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at >= since,
        )
    )
    return (address_failures or 0) >= settings.login_max_failures_per_address


def prune_login_attempts(*, session: Session, older_than: timedelta) -> int:
    result = session.execute(
        delete(LoginAttempt).where(LoginAttempt.attempted_at < utcnow() - older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- browser sessions


@dataclass(frozen=True)
class StartedSession:
    token: str
    record: UserSession


def start_session(
    *, session: Session, settings: Settings, user: User, ip_address: str, user_agent: str
) -> StartedSession:
    token = secrets.token_urlsafe(32)
    record = UserSession(
        token_hash=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=settings.session_max_age_hours),
        ip_address=ip_address[:64],
        user_agent=user_agent[:300],
    )
    session.add(record)
    session.flush()
    return StartedSession(token, record)


def resolve_session(*, session: Session, token: str) -> UserSession | None:
    """The live session for a cookie token, or None if it ended, expired or its user is disabled."""
    record = session.scalar(select(UserSession).where(UserSession.token_hash == _digest(token)))
    now = utcnow()
    if record is None or record.expires_at <= now or not record.user.is_active:
        return None
    # write last-seen at most once a minute so that reading pages does not mean writing rows
    if now - record.last_seen_at > timedelta(minutes=1):
        record.last_seen_at = now
    return record


def end_session_record(*, session: Session, record: UserSession) -> None:
    audit.record(session, "logout", "user", record.user_id)
    session.delete(record)
    session.flush()


def password_matches(user: User, password: str) -> bool:
    return verify_password(user.password_hash, password)


def prune_sessions(*, session: Session) -> int:
    result = session.execute(delete(UserSession).where(UserSession.expires_at < utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- API tokens


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: ApiToken


def create_token(
    *, session: Session, user: User, name: str, expires_in_days: int | None
) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_digest(token),
        token_prefix=token[:10],
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(record)
    session.flush()
    return IssuedToken(token, record)


def resolve_token(*, session: Session, token: str) -> User | None:
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    now = utcnow()
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    if not record.user.is_active:
        return None
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        # not audited: using a token is not a change to anyone's data
        session.execute(update(ApiToken).where(ApiToken.id == record.id).values(last_used_at=now))
    return record.user


def list_tokens(*, session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    record = session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id:
        raise NotFound(N_("Token {id} was not found."), id=token_id)
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.flush()
    return record
