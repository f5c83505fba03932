"""Every table of every domain, imported in one place for migrations and metadata checks."""

from guanxi.audit.models import AuditChainHead, AuditEntry
from guanxi.auth.models import (
    ApiToken,
    LoginAttempt,
    RecordShare,
    Role,
    RolePermission,
    Team,
    User,
    UserSession,
)
from guanxi.db import Base
from guanxi.settings_store import AppSetting

__all__ = [
    "ApiToken",
    "AppSetting",
    "AuditChainHead",
    "AuditEntry",
    "Base",
    "LoginAttempt",
    "RecordShare",
    "Role",
    "RolePermission",
    "Team",
    "User",
    "UserSession",
]
