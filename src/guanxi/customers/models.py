"""The customer database: customers (persons and organisations), their phones, e-mails, family,
contacts under organisations, tags and categories, custom field definitions, the consent ledger,
and saved import mappings and runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from guanxi.audit.tracking import Audited
from guanxi.auth.visibility import Owned
from guanxi.db import Base, BigId, Timestamped, Versioned, utcnow


class GramList(TypeDecorator[list[str]]):
    """Search terms: ``text[]`` with a GIN index on PostgreSQL, space-joined text for FTS5."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Text()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: list[str] | None, dialect: Any) -> Any:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else " ".join(value)

    def process_result_value(self, value: Any, dialect: Any) -> list[str] | None:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else str(value).split()


# The customer's own single-valued profile fields, in the order forms and exports show them:
# what the API writes, an import fills, and a merge chooses between (lists and keys aside).
PROFILE_FIELDS: tuple[str, ...] = (
    "kind",
    "name",
    "customer_type",
    "gender",
    "birthday",
    "occupation",
    "industry",
    "company",
    "region",
    "city",
    "district",
    "address",
    "postal_code",
    "source_channel",
    "preferred_channel",
    "preferred_contact_time",
    "interests",
    "notes",
    "risk_level",
    "credit_note",
    "external_id",
)


class Customer(Owned, Timestamped, Versioned, Audited, Base):
    """A person or an organisation the company does business with, directly or through a channel."""

    __tablename__ = "customers"
    __resource__ = "customers"
    __audit_entity__ = "customer"
    __audit_redacted__ = frozenset({"id_number_encrypted", "id_number_index"})
    # derived from other fields, which are audited themselves
    __audit_ignored__ = frozenset({"search_text", "search_grams", "name_key"})
    __audit_collections__ = {  # noqa: RUF012 - read by the audit listener, never mutated
        "phones": "number",
        "emails": "address",
        "family": "name",
        "tags": "name",
    }
    # sealed in the audit log and shredded on erasure; region and city stay readable because
    # aggregate reports keep them after erasure
    __audit_personal__ = frozenset(
        {
            "name",
            "gender",
            "birthday",
            "occupation",
            "company",
            "district",
            "address",
            "postal_code",
            "preferred_contact_time",
            "interests",
            "notes",
            "credit_note",
            "external_id",
            "custom_fields",
            "phones",
            "emails",
            "family",
        }
    )
    # list orders (keyset: the sort column, then id) and the commonest filter with its sort;
    # (city, name_key) serves duplicate detection
    __table_args__ = (
        Index("ix_customers_city_name_key", "city", "name_key"),
        Index("ix_customers_city_name", "city", "name", "id"),
        Index("ix_customers_created_at", "created_at", "id"),
        Index("ix_customers_updated_at", "updated_at", "id"),
        Index("ix_customers_name", "name", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="person")
    name: Mapped[str] = mapped_column(String(200))
    # lower-case, no spaces, half-width: for duplicate detection ("张 伟" = "张伟")
    name_key: Mapped[str] = mapped_column(String(200), default="")
    customer_type: Mapped[str] = mapped_column(String(16), default="direct")
    gender: Mapped[str | None] = mapped_column(String(8))
    birthday: Mapped[date | None] = mapped_column(Date)
    occupation: Mapped[str] = mapped_column(String(120), default="")
    industry: Mapped[str] = mapped_column(String(120), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(60), default="")
    city: Mapped[str] = mapped_column(String(60), default="")
    district: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    source_channel: Mapped[str] = mapped_column(String(60), default="")
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    preferred_contact_time: Mapped[str] = mapped_column(String(120), default="")
    interests: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    risk_level: Mapped[str | None] = mapped_column(String(8))
    credit_note: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    id_number_encrypted: Mapped[str | None] = mapped_column(String(255))
    id_number_index: Mapped[str | None] = mapped_column(String(64), index=True)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # written by the analytics core; kept here so lists can filter on them
    value_tier: Mapped[str | None] = mapped_column(String(16), index=True)
    lifecycle_stage: Mapped[str | None] = mapped_column(String(16), index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    search_grams: Mapped[list[str]] = mapped_column(GramList(), default=list)
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column()
    erased_at: Mapped[datetime | None] = mapped_column()

    phones: Mapped[list[CustomerPhone]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CustomerPhone.position"
    )
    emails: Mapped[list[CustomerEmail]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CustomerEmail.position"
    )
    family: Mapped[list[FamilyMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FamilyMember.id"
    )
    tags: Mapped[list[Tag]] = relationship(
        secondary="customer_tags", lazy="selectin", order_by="Tag.name"
    )

    @property
    def is_organisation(self) -> bool:
        return self.kind == "organisation"


class CustomerPhone(Base):
    """A phone number in E.164 form, so "138 0013 8000" and "+86 13800138000" are one number."""

    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(20), index=True)
    label: Mapped[str] = mapped_column(String(20), default="mobile")
    position: Mapped[int] = mapped_column(default=0)


class CustomerEmail(Base):
    __tablename__ = "customer_emails"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(254), index=True)  # lower-cased
    label: Mapped[str] = mapped_column(String(20), default="work")
    position: Mapped[int] = mapped_column(default=0)


class FamilyMember(Base):
    """Family members' names and birthdays, for greetings and occasions (家庭成员)."""

    __tablename__ = "family_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    relation: Mapped[str] = mapped_column(String(40), default="")
    birthday: Mapped[date | None] = mapped_column(Date)


class Contact(Timestamped, Versioned, Audited, Base):
    """A person at an organisation customer (联系人), with their role in the purchase."""

    __tablename__ = "contacts"
    __audit_entity__ = "contact"
    __audit_collections__ = {"tags": "name"}  # noqa: RUF012 - read by the audit listener
    __audit_personal__ = frozenset(
        {"name", "title", "phone", "email", "notes", "external_id", "custom_fields"}
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(120), default="")
    purchase_role: Mapped[str] = mapped_column(String(20), default="other")
    phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    deleted_at: Mapped[datetime | None] = mapped_column()

    organisation: Mapped[Customer] = relationship()
    tags: Mapped[list[Tag]] = relationship(
        secondary="contact_tags", lazy="selectin", order_by="Tag.name"
    )


class TagCategory(Timestamped, Versioned, Audited, Base):
    """An admin-defined classification (客户分类), e.g. 行业 or 客户来源; tags belong to one."""

    __tablename__ = "tag_categories"
    __audit_entity__ = "tag_category"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # a customer carries at most one tag of an exclusive category (e.g. a grade A/B/C)
    exclusive: Mapped[bool] = mapped_column(default=False)


class Tag(Audited, Base):
    __tablename__ = "tags"
    __audit_entity__ = "tag"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    category_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("tag_categories.id", ondelete="SET NULL"), index=True
    )
    color: Mapped[str] = mapped_column(String(7), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[TagCategory | None] = relationship(lazy="joined")


class CustomerTag(Base):
    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ContactTag(Base):
    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CustomFieldDefinition(Timestamped, Versioned, Audited, Base):
    """An admin-defined extra field on customers or contacts, typed so values can be checked."""

    __tablename__ = "custom_field_definitions"
    __audit_entity__ = "custom_field"
    __table_args__ = (UniqueConstraint("entity", "key", name="uq_custom_field_definitions_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16), default="customer")
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    field_type: Mapped[str] = mapped_column(String(8), default="text")
    choices: Mapped[list[Any]] = mapped_column(default=list)
    required: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class ConsentEvent(Base):
    """One entry of the consent ledger (自愿加入、自由退出). Never updated: the current state of a
    purpose is its newest entry."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_customer_purpose", "customer_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column()
    source: Mapped[str] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(300), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    recorded_by_name: Mapped[str] = mapped_column(String(60), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportMapping(Timestamped, Base):
    """A saved column mapping (file column -> field) to reuse for files of the same shape."""

    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    entity: Mapped[str] = mapped_column(String(16), default="customers")
    columns: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )


class ImportRun(Base):
    """One import of one file: its progress, counts and where its error report is."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16), default="customers")
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    file_format: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    dry_run: Mapped[bool] = mapped_column(default=False)
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    possible_duplicates: Mapped[int] = mapped_column(default=0)
    error_report_path: Mapped[str] = mapped_column(String(500), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
