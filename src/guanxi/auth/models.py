"""Users, teams, roles as data, web sessions, API tokens, login attempts and record shares."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from guanxi.audit.tracking import Audited
from guanxi.db import Base, BigId, Timestamped, Versioned, utcnow


class Team(Timestamped, Versioned, Audited, Base):
    """A group of users; teams nest, and a manager sees the records of their team and below."""

    __tablename__ = "teams"
    __audit_entity__ = "team"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="RESTRICT"), index=True
    )

    parent: Mapped[Team | None] = relationship(remote_side=[id])


class Role(Timestamped, Versioned, Audited, Base):
    """A named permission set over resources x actions, and how far its visibility reaches."""

    __tablename__ = "roles"
    __audit_entity__ = "role"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    record_scope: Mapped[str] = mapped_column(String(8), default="own")
    is_builtin: Mapped[bool] = mapped_column(default=False)

    permissions: Mapped[list[RolePermission]] = relationship(
        back_populates="role", cascade="all, delete-orphan", lazy="selectin"
    )

    def grants(self) -> set[tuple[str, str]]:
        return {(p.resource, p.action) for p in self.permissions}

    def allows(self, resource: str, action: str) -> bool:
        return (resource, action) in self.grants()


class RolePermission(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    resource: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(16), primary_key=True)

    role: Mapped[Role] = relationship(back_populates="permissions")


class User(Timestamped, Versioned, Audited, Base):
    __tablename__ = "users"
    __audit_entity__ = "user"
    __audit_redacted__ = frozenset({"password_hash"})
    __audit_ignored__ = frozenset({"last_login_at"})  # "login.succeeded" records it

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # stored lower-cased so that "Alice" and "alice" cannot be two accounts
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("roles.id", ondelete="RESTRICT"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None] = mapped_column()

    role: Mapped[Role] = relationship(lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")

    @property
    def label(self) -> str:
        return self.display_name or self.username

    def zone(self, company: ZoneInfo) -> ZoneInfo:
        """The user's own time zone, else the company's: times are shown and typed in it, and
        it decides what "today" is."""
        return ZoneInfo(self.timezone) if self.timezone else company

    def can(self, resource: str, action: str) -> bool:
        return self.is_active and self.role.allows(resource, action)


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token; only its hash is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class ApiToken(Audited, Base):
    """A named bearer token a user created for a script; shown once, stored as a hash."""

    __tablename__ = "api_tokens"
    __audit_entity__ = "api_token"
    __audit_redacted__ = frozenset({"token_hash"})
    __audit_ignored__ = frozenset({"last_used_at"})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """One sign-in attempt, kept for throttling by account and by address across all workers."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "attempted_at"),
        Index("ix_login_attempts_address_at", "ip_address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    ip_address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column()
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordShare(Audited, Base):
    """Grants one user visibility of one record they do not own."""

    __tablename__ = "record_shares"
    __audit_entity__ = "record_share"
    __table_args__ = (
        UniqueConstraint("resource", "record_id", "user_id", name="uq_record_shares_record_user"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(BigId)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    granted_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
