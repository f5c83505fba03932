"""What every ``guanxi`` command shares: settings, the database, units of work audited as the
operator, the acting user (``--as``), validation of inputs, and the two consoles."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from guanxi import crypto, schema
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.permissions import ADMIN_ROLE
from guanxi.config import Settings, load_settings
from guanxi.db import Database

SchemaT = TypeVar("SchemaT", bound=BaseModel)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


class CliError(Exception):
    """Stops the command with one line on stderr and exit code 1."""


def settings() -> Settings:
    loaded = load_settings()
    crypto.configure(loaded)
    return loaded


def database(current: Settings) -> Database:
    return Database(current.database_url, timezone=current.timezone)


def operator() -> AuditActor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return AuditActor(None, f"cli:{who}"[:60])


@contextmanager
def unit_of_work(db: Database) -> Iterator[Session]:
    """A CLI unit of work: audited as the operating-system user who ran the command."""
    if schema.pending_migrations(db):
        raise CliError("the database schema is not up to date; run `guanxi db upgrade` first")
    with db.unit_of_work() as session:
        tracking.set_actor(session, operator())
        yield session


def acting_user(session: Session, username: str | None) -> User:
    """Who a data command acts as: ``--as USERNAME`` sees and does only what that user may;
    without it the command acts as an administrator (an unsaved stand-in that owns nothing)."""
    if username:
        user = auth_service.get_user_by_username(session=session, username=username)
        if user is None or not user.is_active:
            raise CliError(f"--as: no active user named {username!r}")
        tracking.set_actor(session, AuditActor(user.id, user.username, operator().username))
        return user
    admin_role = auth_service.get_role_by_name(session=session, name=ADMIN_ROLE)
    # never added to the session: it exists only to carry the admin role through visibility
    return User(username=operator().username, role=admin_role, is_active=True)


def validated(schema_cls: type[SchemaT], **values: object) -> SchemaT:
    """Input checked by the API's own schema; the first problem names its field."""
    try:
        return schema_cls.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        raise CliError(f"{field}: {first['msg']}") from None
