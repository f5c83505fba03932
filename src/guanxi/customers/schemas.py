"""API shapes for customers, contacts, tags, custom fields and consent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guanxi.customers import normalize
from guanxi.errors import N_

Kind = Literal["person", "organisation"]
CustomerType = Literal["direct", "distributor", "reseller", "agent"]
Gender = Literal["male", "female", "other"]
Channel = Literal["phone", "sms", "email", "wechat", "visit", "mail"]
RiskLevel = Literal["low", "medium", "high"]
PurchaseRole = Literal["decision_maker", "influencer", "user", "buyer", "gatekeeper", "other"]
ConsentPurpose = Literal["marketing_email", "marketing_sms", "marketing_phone", "profiling"]
FieldType = Literal["text", "number", "date", "choice"]

KINDS: tuple[str, ...] = ("person", "organisation")
CUSTOMER_TYPES: tuple[str, ...] = ("direct", "distributor", "reseller", "agent")
GENDERS: tuple[str, ...] = ("male", "female", "other")
CHANNELS: tuple[str, ...] = ("phone", "sms", "email", "wechat", "visit", "mail")
RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high")
PURCHASE_ROLES: tuple[str, ...] = (
    "decision_maker",
    "influencer",
    "user",
    "buyer",
    "gatekeeper",
    "other",
)
CONSENT_PURPOSES: tuple[str, ...] = (
    "marketing_email",
    "marketing_sms",
    "marketing_phone",
    "profiling",
)

Text200 = Field(default="", max_length=200)


class PhoneIn(BaseModel):
    number: str = Field(max_length=40)
    label: str = Field(default="mobile", max_length=20)

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        try:
            return normalize.phone(value)
        except normalize.InvalidValue as exc:
            raise ValueError(N_("Not a phone number.")) from exc


class EmailIn(BaseModel):
    address: str = Field(max_length=254)
    label: str = Field(default="work", max_length=20)

    @field_validator("address")
    @classmethod
    def _lower(cls, value: str) -> str:
        try:
            return normalize.email(value)
        except normalize.InvalidValue as exc:
            raise ValueError(N_("Not an e-mail address.")) from exc


def _phones(value: Any) -> Any:
    # scripts send plain strings; forms and full clients send {"number", "label"}
    if isinstance(value, list):
        return [{"number": v} if isinstance(v, str) else v for v in value]
    return value


def _emails(value: Any) -> Any:
    if isinstance(value, list):
        return [{"address": v} if isinstance(v, str) else v for v in value]
    return value


class FamilyMemberIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    relation: str = Field(default="", max_length=40)
    birthday: date | None = None


class CustomerFields(BaseModel):
    """Fields shared by create and update."""

    kind: Kind = "person"
    name: str = Field(min_length=1, max_length=200)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)
    emails: list[EmailIn] = Field(default_factory=list, max_length=10)
    customer_type: CustomerType = "direct"
    gender: Gender | None = None
    birthday: date | None = None
    occupation: str = Field(default="", max_length=120)
    industry: str = Field(default="", max_length=120)
    company: str = Text200
    region: str = Field(default="", max_length=60)
    city: str = Field(default="", max_length=60)
    district: str = Field(default="", max_length=60)
    address: str = Field(default="", max_length=300)
    postal_code: str = Field(default="", max_length=20)
    source_channel: str = Field(default="", max_length=60)
    preferred_channel: Channel | None = None
    preferred_contact_time: str = Field(default="", max_length=120)
    interests: str = Field(default="", max_length=4000)
    notes: str = Field(default="", max_length=20000)
    risk_level: RiskLevel | None = None
    credit_note: str = Field(default="", max_length=4000)
    external_id: str | None = Field(default=None, max_length=100)
    id_number: str | None = Field(default=None, max_length=40, description="Encrypted at rest")
    family: list[FamilyMemberIn] = Field(default_factory=list, max_length=20)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=50)
    owner_id: int | None = None

    @field_validator("phones", mode="before")
    @classmethod
    def _phone_strings(cls, value: Any) -> Any:
        return _phones(value)

    @field_validator("emails", mode="before")
    @classmethod
    def _email_strings(cls, value: Any) -> Any:
        return _emails(value)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(N_("This field is required."))
        return value

    @field_validator("external_id", "id_number")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class CustomerCreate(CustomerFields):
    """``POST /api/v1/customers``: at least ``{"name", "phones": [...], "emails": [...]}``."""


class CustomerUpdate(CustomerFields):
    """``PATCH``: only the fields sent are changed."""

    kind: Kind = "person"
    name: str = Field(default="", max_length=200)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(N_("This field is required."))
        return value


class PhoneRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: str
    label: str


class EmailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    address: str
    label: str


class FamilyMemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    relation: str
    birthday: date | None


class CustomerRead(BaseModel):
    id: int
    kind: str
    name: str
    phones: list[PhoneRead]
    emails: list[EmailRead]
    customer_type: str
    gender: str | None
    birthday: date | None
    occupation: str
    industry: str
    company: str
    region: str
    city: str
    district: str
    address: str
    postal_code: str
    source_channel: str
    preferred_channel: str | None
    preferred_contact_time: str
    interests: str
    notes: str
    risk_level: str | None
    credit_note: str
    external_id: str | None
    id_number_masked: str | None = Field(description="Only the first and last characters")
    family: list[FamilyMemberRead]
    custom_fields: dict[str, Any]
    tags: list[str]
    owner_id: int | None
    team_id: int | None
    value_tier: str | None
    lifecycle_stage: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class CustomerSummary(BaseModel):
    """A row of a customer list."""

    id: int
    kind: str
    name: str
    company: str
    city: str
    phone: str | None
    email: str | None
    owner_id: int | None
    tags: list[str]
    value_tier: str | None
    lifecycle_stage: str | None
    updated_at: datetime


class BulkTag(BaseModel):
    customer_ids: list[int] = Field(min_length=1, max_length=5000)
    tags: list[str] = Field(min_length=1, max_length=20)
    remove: bool = False


class BulkAssign(BaseModel):
    customer_ids: list[int] = Field(min_length=1, max_length=5000)
    owner_id: int


class BulkResult(BaseModel):
    changed: int


class ContactFields(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=120)
    purchase_role: PurchaseRole = "other"
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254)
    notes: str = Field(default="", max_length=4000)
    external_id: str | None = Field(default=None, max_length=100)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if not value.strip():
            return ""
        try:
            return normalize.phone(value)
        except normalize.InvalidValue as exc:
            raise ValueError(N_("Not a phone number.")) from exc

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value.strip():
            return ""
        try:
            return normalize.email(value)
        except normalize.InvalidValue as exc:
            raise ValueError(N_("Not an e-mail address.")) from exc


class ContactCreate(ContactFields):
    organisation_id: int


class ContactUpdate(ContactFields):
    name: str = Field(default="", min_length=1, max_length=200)


class ContactRead(BaseModel):
    id: int
    organisation_id: int
    organisation: str
    name: str
    title: str
    purchase_role: str
    phone: str
    email: str
    notes: str
    external_id: str | None
    custom_fields: dict[str, Any]
    tags: list[str]
    version: int
    created_at: datetime
    updated_at: datetime


class TagCategoryIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=2000)
    exclusive: bool = False


class TagCategoryRead(TagCategoryIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    version: int


class TagIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    category_id: int | None = None
    color: str = Field(default="", pattern=r"^(#[0-9a-fA-F]{6})?$")


class TagRead(BaseModel):
    id: int
    name: str
    category_id: int | None
    category: str | None
    color: str
    customers: int | None = None


class CustomFieldIn(BaseModel):
    entity: Literal["customer", "contact"] = "customer"
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=120)
    field_type: FieldType = "text"
    choices: list[str] = Field(default_factory=list, max_length=100)
    required: bool = False
    active: bool = True
    position: int = 0


class CustomFieldRead(CustomFieldIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    version: int


class ConsentIn(BaseModel):
    """``POST /api/v1/customers/{id}/consents``."""

    purpose: ConsentPurpose
    granted: bool
    source: str = Field(min_length=1, max_length=60)
    note: str = Field(default="", max_length=300)


class ConsentState(BaseModel):
    granted: bool
    source: str
    recorded_at: datetime
    recorded_by: str


class ConsentEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    purpose: str
    granted: bool
    source: str
    note: str
    recorded_by_name: str
    recorded_at: datetime


class DuplicatePairRead(BaseModel):
    first: CustomerSummary
    second: CustomerSummary
    reasons: list[str]
    score: int


class MergeRequest(BaseModel):
    """Fold ``other_id`` into ``survivor_id``; ``choices`` says per field which value to keep
    (``"survivor"`` or ``"other"``); fields not named keep the survivor's value unless empty."""

    survivor_id: int
    other_id: int
    choices: dict[str, Literal["survivor", "other"]] = Field(default_factory=dict)
    survivor_version: int | None = None
    other_version: int | None = None
