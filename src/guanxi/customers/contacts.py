"""Contacts (联系人): people at organisation customers. A contact is visible exactly when its
organisation is, so visibility is the organisation's, applied through the same helper."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.concurrency import ensure_version
from guanxi.customers import custom_fields, tags
from guanxi.customers import service as customer_service
from guanxi.customers.models import Contact, Customer
from guanxi.customers.schemas import ContactCreate, ContactRead, ContactUpdate
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.pagination import Page, paginate

_FIELDS = ("name", "title", "purchase_role", "phone", "email", "notes", "external_id")


def _visible(actor: User):  # type: ignore[no-untyped-def]
    organisations = restrict(
        select(Customer.id).where(Customer.deleted_at.is_(None)), Customer, actor
    )
    return select(Contact).where(
        Contact.organisation_id.in_(organisations), Contact.deleted_at.is_(None)
    )


def get(*, session: Session, actor: User, contact_id: int) -> Contact:
    contact = session.scalar(_visible(actor).where(Contact.id == contact_id))
    if contact is None:
        raise NotFound(N_("Record {id} was not found."), id=contact_id)
    return contact


def list_contacts(
    *,
    session: Session,
    actor: User,
    organisation_id: int | None = None,
    q: str = "",
    tag: str = "",
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Contact]:
    stmt = _visible(actor)
    if organisation_id is not None:
        stmt = stmt.where(Contact.organisation_id == organisation_id)
    if q.strip():
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                Contact.name.ilike(pattern),
                Contact.email.like(pattern),
                Contact.phone.like(f"%{q.strip()}%"),
                Contact.title.ilike(pattern),
            )
        )
    if tag:
        stmt = stmt.where(Contact.tags.any(name=tag))
    return paginate(session, stmt, Contact.id, limit=limit, cursor=cursor)


def create(*, session: Session, actor: User, contact_in: ContactCreate) -> Contact:
    organisation = customer_service.get(
        session=session, actor=actor, customer_id=contact_in.organisation_id
    )
    if not organisation.is_organisation:
        raise InvalidInput(
            N_("Contacts belong to organisations, not to persons."),
            errors=[FieldError("organisation_id", N_("Not an organisation."))],
        )
    contact = Contact(organisation_id=organisation.id)
    _apply(session, contact, contact_in, set(ContactCreate.model_fields))
    session.add(contact)
    session.flush()
    return contact


def update(
    *, session: Session, contact: Contact, contact_in: ContactUpdate, expected_version: int | None
) -> Contact:
    ensure_version(contact.version, expected_version)
    _apply(session, contact, contact_in, contact_in.model_fields_set)
    session.flush()
    return contact


def delete(*, session: Session, contact: Contact, expected_version: int | None) -> None:
    ensure_version(contact.version, expected_version)
    contact.deleted_at = utcnow()
    session.flush()


def _apply(
    session: Session, contact: Contact, fields: ContactCreate | ContactUpdate, given: set[str]
) -> None:
    for name in _FIELDS:
        if name in given:
            setattr(contact, name, getattr(fields, name))
    if "external_id" in given and fields.external_id:
        holder = session.scalar(select(Contact.id).where(Contact.external_id == fields.external_id))
        if holder is not None and holder != contact.id:
            raise Conflict(
                N_("Another contact already has the external id {external_id}."),
                errors=[FieldError("external_id", N_("This value is taken."))],
                external_id=fields.external_id,
            )
    if "custom_fields" in given:
        contact.custom_fields = custom_fields.validate(
            session, "contact", fields.custom_fields, current=contact.custom_fields or {}
        )
    if "tags" in given:
        contact.tags = tags.resolve(session, fields.tags)
    if contact.id is not None and session.is_modified(contact):
        contact.updated_at = utcnow()


def to_read(contact: Contact) -> ContactRead:
    return ContactRead(
        **{name: getattr(contact, name) for name in _FIELDS},
        id=contact.id,
        organisation_id=contact.organisation_id,
        organisation=contact.organisation.name,
        custom_fields=contact.custom_fields or {},
        tags=[t.name for t in contact.tags],
        version=contact.version,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )
