"""Use cases for customers: create, read, update, delete, list and bulk actions.

Every read, list, update and bulk action goes through record visibility
(``guanxi.auth.visibility``): what a user may not see is "not found" here too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi import crypto
from guanxi.auth.models import User
from guanxi.auth.visibility import ensure_may_hand_to, get_visible, restrict
from guanxi.concurrency import ensure_version
from guanxi.customers import custom_fields, normalize, tags
from guanxi.customers.models import (
    PROFILE_FIELDS,
    Customer,
    CustomerEmail,
    CustomerPhone,
    FamilyMember,
)
from guanxi.customers.schemas import (
    CustomerCreate,
    CustomerFields,
    CustomerRead,
    CustomerSummary,
    CustomerUpdate,
    EmailRead,
    FamilyMemberRead,
    PhoneRead,
)
from guanxi.customers.search import SORTABLE, CustomerFilter, filter_clauses, is_specific
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.pagination import Page, paginate_sorted


def get(*, session: Session, actor: User, customer_id: int) -> Customer:
    """A customer the actor may see; merged, deleted and hidden customers are not found."""
    customer = get_visible(session, Customer, customer_id, actor)
    if customer.deleted_at is not None or customer.merged_into_id is not None:
        raise NotFound(N_("Record {id} was not found."), id=customer_id)
    return customer


def create(*, session: Session, actor: User, customer_in: CustomerCreate) -> Customer:
    customer = Customer(owner_id=actor.id, team_id=actor.team_id)
    # a new record takes every field, defaults included (an update only the fields sent)
    _apply(session, actor, customer, customer_in, set(CustomerCreate.model_fields))
    session.add(customer)
    session.flush()
    return customer


def update(
    *,
    session: Session,
    actor: User,
    customer: Customer,
    customer_in: CustomerUpdate,
    expected_version: int | None,
) -> Customer:
    ensure_version(customer.version, expected_version)
    _apply(session, actor, customer, customer_in, customer_in.model_fields_set)
    session.flush()
    return customer


def delete(
    *, session: Session, actor: User, customer: Customer, expected_version: int | None
) -> None:
    """Move a customer to the bin (soft delete): lists stop showing it; the record stays."""
    ensure_version(customer.version, expected_version)
    customer.deleted_at = utcnow()
    session.flush()


def _apply(
    session: Session, actor: User, customer: Customer, fields: CustomerFields, given: set[str]
) -> None:
    for name in PROFILE_FIELDS:
        if name in given:
            setattr(customer, name, getattr(fields, name))
    if "external_id" in given and fields.external_id:
        _ensure_external_id_free(session, fields.external_id, customer.id)
    if "phones" in given:
        customer.phones = [
            CustomerPhone(number=p.number, label=p.label, position=i)
            for i, p in enumerate(_unique(fields.phones, "number"))
        ]
    if "emails" in given:
        customer.emails = [
            CustomerEmail(address=e.address, label=e.label, position=i)
            for i, e in enumerate(_unique(fields.emails, "address"))
        ]
    if "family" in given:
        customer.family = [
            FamilyMember(name=f.name, relation=f.relation, birthday=f.birthday)
            for f in fields.family
        ]
    if "id_number" in given:
        set_id_number(customer, fields.id_number)
    if "custom_fields" in given:
        customer.custom_fields = custom_fields.validate(
            session, "customer", fields.custom_fields, current=customer.custom_fields or {}
        )
    if "tags" in given:
        customer.tags = tags.resolve(session, fields.tags)
    if "owner_id" in given and fields.owner_id is not None:
        owner = session.get(User, fields.owner_id)
        if owner is None or not owner.is_active:
            raise InvalidInput(
                N_("The owner must be an active user."),
                errors=[FieldError("owner_id", N_("Unknown or disabled user."))],
            )
        ensure_may_hand_to(session, actor, owner)
        customer.owner_id = owner.id
        customer.team_id = owner.team_id
    refresh_search_fields(customer)
    if customer.id is not None and session.is_modified(customer):
        # a change to phones or tags alone must still bump the version (and so the ETag)
        customer.updated_at = utcnow()


def _unique(items: list[Any], key: str) -> list[Any]:
    seen: set[str] = set()
    kept = []
    for item in items:
        value = getattr(item, key)
        if value not in seen:
            seen.add(value)
            kept.append(item)
    return kept


def _ensure_external_id_free(session: Session, external_id: str, own_id: int | None) -> None:
    holder = session.scalar(select(Customer.id).where(Customer.external_id == external_id))
    if holder is not None and holder != own_id:
        raise Conflict(
            N_("Another customer already has the external id {external_id}."),
            errors=[FieldError("external_id", N_("This value is taken."))],
            external_id=external_id,
        )


def set_id_number(customer: Customer, id_number: str | None) -> None:
    """Store an identity number encrypted, with a blind index for exact lookups."""
    if not id_number:
        customer.id_number_encrypted = None
        customer.id_number_index = None
        return
    normalised = normalize.name_key(id_number).upper()
    cipher = crypto.cipher()
    customer.id_number_encrypted = cipher.encrypt(normalised)
    customer.id_number_index = cipher.blind_index(normalised)


def find_by_id_number(*, session: Session, actor: User, id_number: str) -> list[Customer]:
    """Exact match on an identity number through its blind index (the number is never compared
    in the clear)."""
    index = crypto.cipher().blind_index(normalize.name_key(id_number).upper())
    stmt = restrict(select(Customer).where(Customer.id_number_index == index), Customer, actor)
    return list(session.scalars(stmt.where(Customer.deleted_at.is_(None))))


def refresh_search_fields(customer: Customer) -> None:
    phones = [p.number for p in customer.phones]
    emails = [e.address for e in customer.emails]
    customer.name_key = normalize.name_key(customer.name)
    customer.search_text = normalize.search_text(customer.name, customer.company, phones, emails)
    customer.search_grams = normalize.grams(customer.name, customer.company)


def list_customers(
    *,
    session: Session,
    actor: User,
    spec: CustomerFilter,
    sort: str | None = None,
    descending: bool = True,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Customer]:
    """A page of the customers ``actor`` may see. Without a chosen order, a search answers newest
    first (by id, which the full-text indexes hand back cheaply) and a plain list by last change."""
    if sort is None:
        sort = "id" if spec.q else "updated_at"
    if sort not in SORTABLE:
        raise InvalidInput(
            N_("Customers cannot be sorted by {field}."),
            errors=[FieldError("sort", N_("Choose one of the offered values."))],
            field=sort,
        )
    stmt = restrict(select(Customer).where(*filter_clauses(session, spec)), Customer, actor)
    column = getattr(Customer, sort)
    order_by = None
    if spec.q and is_specific(spec.q) and _dialect(session) == "postgresql":
        # A specific fragment matches few rows: collect them from the GIN index and sort them.
        # Ordering by a bare indexed column would let PostgreSQL walk that index hoping to meet
        # a page of visible matches soon, which takes seconds when they are rare; an expression
        # (the same value) cannot be walked.
        order_by = func.coalesce(column, column)
    return paginate_sorted(
        session,
        stmt,
        column,
        Customer.id,
        limit=limit,
        cursor=cursor,
        descending=descending,
        order_by=order_by,
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def count_customers(
    *, session: Session, actor: User, spec: CustomerFilter, cap: int | None = None
) -> int:
    """How many customers the filter finds among those ``actor`` may see. With ``cap``, counting
    stops at ``cap + 1`` (a list shows "more than 1,000" rather than walk a million rows on
    every page view); exports and reports count exactly."""
    matching = restrict(select(Customer.id).where(*filter_clauses(session, spec)), Customer, actor)
    if cap is not None:
        matching = matching.limit(cap + 1)
    return int(session.scalar(select(func.count()).select_from(matching.subquery())) or 0)


def visible_ids(*, session: Session, actor: User, customer_ids: list[int]) -> list[int]:
    """The subset of ids the actor may see (bulk actions ignore the rest, as if absent)."""
    stmt = restrict(
        select(Customer.id).where(
            Customer.id.in_(customer_ids),
            Customer.deleted_at.is_(None),
            Customer.merged_into_id.is_(None),
        ),
        Customer,
        actor,
    )
    return list(session.scalars(stmt))


def bulk_tag(
    *, session: Session, actor: User, customer_ids: list[int], tag_names: list[str], remove: bool
) -> int:
    ids = visible_ids(session=session, actor=actor, customer_ids=customer_ids)
    chosen = tags.resolve(session, tag_names, create=not remove)
    changed = 0
    for customer in session.scalars(select(Customer).where(Customer.id.in_(ids))):
        before = {t.id for t in customer.tags}
        if remove:
            customer.tags = [t for t in customer.tags if t.id not in {c.id for c in chosen}]
        else:
            customer.tags = tags.merged(customer.tags, chosen)
        if {t.id for t in customer.tags} != before:
            customer.updated_at = utcnow()  # a tag change bumps the version like any edit
            changed += 1
    session.flush()
    return changed


def bulk_assign(*, session: Session, actor: User, customer_ids: list[int], owner_id: int) -> int:
    owner = session.get(User, owner_id)
    if owner is None or not owner.is_active:
        raise InvalidInput(
            N_("The owner must be an active user."),
            errors=[FieldError("owner_id", N_("Unknown or disabled user."))],
        )
    ensure_may_hand_to(session, actor, owner)
    ids = visible_ids(session=session, actor=actor, customer_ids=customer_ids)
    changed = 0
    for customer in session.scalars(select(Customer).where(Customer.id.in_(ids))):
        if customer.owner_id != owner.id:
            customer.owner_id, customer.team_id = owner.id, owner.team_id
            changed += 1
    session.flush()
    return changed


# ---------------------------------------------------------------- shapes


def masked_id_number(customer: Customer) -> str | None:
    if not customer.id_number_encrypted:
        return None
    plain = crypto.cipher().decrypt(customer.id_number_encrypted)
    return plain[:3] + "*" * max(len(plain) - 7, 0) + plain[-4:] if len(plain) > 7 else "****"


def to_read(customer: Customer) -> CustomerRead:
    return CustomerRead(
        **{name: getattr(customer, name) for name in PROFILE_FIELDS},
        id=customer.id,
        phones=[PhoneRead.model_validate(p) for p in customer.phones],
        emails=[EmailRead.model_validate(e) for e in customer.emails],
        family=[FamilyMemberRead.model_validate(f) for f in customer.family],
        id_number_masked=masked_id_number(customer),
        custom_fields=customer.custom_fields or {},
        tags=[t.name for t in customer.tags],
        owner_id=customer.owner_id,
        team_id=customer.team_id,
        value_tier=customer.value_tier,
        lifecycle_stage=customer.lifecycle_stage,
        version=customer.version,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def to_summary(customer: Customer) -> CustomerSummary:
    return CustomerSummary(
        id=customer.id,
        kind=customer.kind,
        name=customer.name,
        company=customer.company,
        city=customer.city,
        phone=customer.phones[0].number if customer.phones else None,
        email=customer.emails[0].address if customer.emails else None,
        owner_id=customer.owner_id,
        tags=[t.name for t in customer.tags],
        value_tier=customer.value_tier,
        lifecycle_stage=customer.lifecycle_stage,
        updated_at=customer.updated_at,
    )
