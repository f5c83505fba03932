"""Every table of every domain, imported in one place for migrations and metadata checks."""

from guanxi.audit.models import AuditChainHead, AuditEntry, SubjectKey
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
from guanxi.customers.models import (
    ConsentEvent,
    Contact,
    ContactTag,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    CustomFieldDefinition,
    FamilyMember,
    ImportMapping,
    ImportRun,
    Tag,
    TagCategory,
)
from guanxi.db import Base
from guanxi.settings_store import AppSetting

__all__ = [
    "ApiToken",
    "AppSetting",
    "AuditChainHead",
    "AuditEntry",
    "Base",
    "ConsentEvent",
    "Contact",
    "ContactTag",
    "CustomFieldDefinition",
    "Customer",
    "CustomerEmail",
    "CustomerPhone",
    "CustomerTag",
    "FamilyMember",
    "ImportMapping",
    "ImportRun",
    "LoginAttempt",
    "RecordShare",
    "Role",
    "RolePermission",
    "SubjectKey",
    "Tag",
    "TagCategory",
    "Team",
    "User",
    "UserSession",
]
