"""JSON API for customers, contacts, tags, custom fields and consent."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.customers import consent, contacts, custom_fields, tags
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import (
    BulkAssign,
    BulkResult,
    BulkTag,
    ConsentEventRead,
    ConsentIn,
    ConsentState,
    ContactCreate,
    ContactRead,
    ContactUpdate,
    CustomerCreate,
    CustomerRead,
    CustomerSummary,
    CustomerUpdate,
    CustomFieldIn,
    CustomFieldRead,
    TagCategoryIn,
    TagCategoryRead,
    TagIn,
    TagRead,
)
from guanxi.customers.search import filter_from_query
from guanxi.deps import DbSession, IfMatch, require
from guanxi.pagination import PageOut

router = APIRouter(prefix="/api/v1")
Limit = Annotated[int, Query(ge=1, le=500)]


# ---------------------------------------------------------------- customers


@router.get("/customers", tags=["customers"])
def list_customers(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
    q: Annotated[str, Query(description="Fragment of a name, company, phone or e-mail")] = "",
    tag: Annotated[list[str] | None, Query(description="Has every one of these tags")] = None,
    sort: Annotated[
        Literal["name", "created_at", "updated_at", "city", "id"] | None,
        Query(description="Default: newest first for a search, last changed for a list"),
    ] = None,
    order: Literal["asc", "desc"] = "desc",
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[CustomerSummary]:
    """Search and filter customers. Any field filters by equality (``?city=上海``), custom fields
    as ``?cf.<key>=value``; ``owner_id``, ``team_id``, ``created_from``, ``created_to`` too."""
    page = customer_service.list_customers(
        session=session,
        actor=actor,
        spec=filter_from_query(request.query_params),
        sort=sort,
        descending=order == "desc",
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[customer_service.to_summary(c) for c in page.items], next_cursor=page.next_cursor
    )


@router.post("/customers", tags=["customers"], status_code=status.HTTP_201_CREATED)
def create_customer(
    body: CustomerCreate,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("customers", "create")],
) -> CustomerRead:
    customer = customer_service.create(session=session, actor=actor, customer_in=body)
    response.headers["ETag"] = etag(customer.version)
    return customer_service.to_read(customer)


@router.get("/customers/{customer_id:int}", tags=["customers"])
def read_customer(
    customer_id: int,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
) -> CustomerRead:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    response.headers["ETag"] = etag(customer.version)
    return customer_service.to_read(customer)


@router.patch("/customers/{customer_id:int}", tags=["customers"])
def update_customer(
    customer_id: int,
    body: CustomerUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("customers", "update")],
) -> CustomerRead:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    customer = customer_service.update(
        session=session,
        actor=actor,
        customer=customer,
        customer_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(customer.version)
    return customer_service.to_read(customer)


@router.delete(
    "/customers/{customer_id:int}", tags=["customers"], status_code=status.HTTP_204_NO_CONTENT
)
def delete_customer(
    customer_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("customers", "delete")],
) -> None:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    customer_service.delete(
        session=session, actor=actor, customer=customer, expected_version=expected_version
    )


@router.post("/customers/bulk/tags", tags=["customers"])
def bulk_tag_customers(
    body: BulkTag, session: DbSession, actor: Annotated[User, require("customers", "update")]
) -> BulkResult:
    """Add (or with ``remove``, take off) tags on a selection; unseen ids are ignored."""
    changed = customer_service.bulk_tag(
        session=session,
        actor=actor,
        customer_ids=body.customer_ids,
        tag_names=body.tags,
        remove=body.remove,
    )
    return BulkResult(changed=changed)


@router.post("/customers/bulk/assign", tags=["customers"])
def bulk_assign_customers(
    body: BulkAssign, session: DbSession, actor: Annotated[User, require("customers", "manage")]
) -> BulkResult:
    changed = customer_service.bulk_assign(
        session=session, actor=actor, customer_ids=body.customer_ids, owner_id=body.owner_id
    )
    return BulkResult(changed=changed)


# ---------------------------------------------------------------- consent


@router.get("/customers/{customer_id:int}/consents", tags=["consent"])
def read_consents(
    customer_id: int, session: DbSession, actor: Annotated[User, require("customers", "read")]
) -> dict[str, ConsentState]:
    """The current state per purpose: ``{"marketing_email": {"granted": true, ...}}``."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    return consent.state(session=session, customer_id=customer.id)


@router.post(
    "/customers/{customer_id:int}/consents", tags=["consent"], status_code=status.HTTP_201_CREATED
)
def record_consent(
    customer_id: int,
    body: ConsentIn,
    session: DbSession,
    actor: Annotated[User, require("customers", "update")],
) -> dict[str, ConsentState]:
    """Record a grant or a withdrawal (``{"purpose", "granted", "source"}``); answers the state."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    consent.record(session=session, actor=actor, customer=customer, consent_in=body)
    return consent.state(session=session, customer_id=customer.id)


@router.get("/customers/{customer_id:int}/consents/history", tags=["consent"])
def consent_history(
    customer_id: int, session: DbSession, actor: Annotated[User, require("customers", "read")]
) -> list[ConsentEventRead]:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    return [
        ConsentEventRead.model_validate(e)
        for e in consent.history(session=session, customer_id=customer.id)
    ]


# ---------------------------------------------------------------- contacts


@router.get("/contacts", tags=["contacts"])
def list_contacts(
    session: DbSession,
    actor: Annotated[User, require("contacts", "read")],
    organisation_id: int | None = None,
    q: str = "",
    tag: str = "",
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[ContactRead]:
    page = contacts.list_contacts(
        session=session,
        actor=actor,
        organisation_id=organisation_id,
        q=q,
        tag=tag,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[contacts.to_read(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/contacts", tags=["contacts"], status_code=status.HTTP_201_CREATED)
def create_contact(
    body: ContactCreate,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("contacts", "create")],
) -> ContactRead:
    contact = contacts.create(session=session, actor=actor, contact_in=body)
    response.headers["ETag"] = etag(contact.version)
    return contacts.to_read(contact)


@router.get("/contacts/{contact_id:int}", tags=["contacts"])
def read_contact(
    contact_id: int,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("contacts", "read")],
) -> ContactRead:
    contact = contacts.get(session=session, actor=actor, contact_id=contact_id)
    response.headers["ETag"] = etag(contact.version)
    return contacts.to_read(contact)


@router.patch("/contacts/{contact_id:int}", tags=["contacts"])
def update_contact(
    contact_id: int,
    body: ContactUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("contacts", "update")],
) -> ContactRead:
    contact = contacts.get(session=session, actor=actor, contact_id=contact_id)
    contact = contacts.update(
        session=session, contact=contact, contact_in=body, expected_version=expected_version
    )
    response.headers["ETag"] = etag(contact.version)
    return contacts.to_read(contact)


@router.delete(
    "/contacts/{contact_id:int}", tags=["contacts"], status_code=status.HTTP_204_NO_CONTENT
)
def delete_contact(
    contact_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("contacts", "delete")],
) -> None:
    contact = contacts.get(session=session, actor=actor, contact_id=contact_id)
    contacts.delete(session=session, contact=contact, expected_version=expected_version)


# ---------------------------------------------------------------- tags


def _tag_read(tag, count: int | None = None) -> TagRead:  # type: ignore[no-untyped-def]
    return TagRead(
        id=tag.id,
        name=tag.name,
        category_id=tag.category_id,
        category=tag.category.name if tag.category else None,
        color=tag.color,
        customers=count,
    )


@router.get("/tags", tags=["tags"])
def list_tags(session: DbSession, _: Annotated[User, require("tags", "read")]) -> list[TagRead]:
    return [_tag_read(t, n) for t, n in tags.list_tags(session=session, with_counts=True)]


@router.post("/tags", tags=["tags"], status_code=status.HTTP_201_CREATED)
def create_tag(
    body: TagIn, session: DbSession, _: Annotated[User, require("tags", "create")]
) -> TagRead:
    return _tag_read(tags.create_tag(session=session, tag_in=body))


@router.put("/tags/{tag_id:int}", tags=["tags"])
def update_tag(
    tag_id: int, body: TagIn, session: DbSession, _: Annotated[User, require("tags", "update")]
) -> TagRead:
    tag = tags.get_tag(session=session, tag_id=tag_id)
    return _tag_read(tags.update_tag(session=session, tag=tag, tag_in=body))


@router.delete("/tags/{tag_id:int}", tags=["tags"], status_code=status.HTTP_204_NO_CONTENT)
def delete_tag(
    tag_id: int, session: DbSession, _: Annotated[User, require("tags", "delete")]
) -> None:
    tags.delete_tag(session=session, tag=tags.get_tag(session=session, tag_id=tag_id))


@router.get("/tag-categories", tags=["tags"])
def list_tag_categories(
    session: DbSession, _: Annotated[User, require("tags", "read")]
) -> list[TagCategoryRead]:
    return [TagCategoryRead.model_validate(c) for c in tags.list_categories(session=session)]


@router.post("/tag-categories", tags=["tags"], status_code=status.HTTP_201_CREATED)
def create_tag_category(
    body: TagCategoryIn, session: DbSession, _: Annotated[User, require("tags", "manage")]
) -> TagCategoryRead:
    return TagCategoryRead.model_validate(tags.create_category(session=session, category_in=body))


@router.put("/tag-categories/{category_id:int}", tags=["tags"])
def update_tag_category(
    category_id: int,
    body: TagCategoryIn,
    session: DbSession,
    expected_version: IfMatch,
    _: Annotated[User, require("tags", "manage")],
) -> TagCategoryRead:
    category = tags.get_category(session=session, category_id=category_id)
    return TagCategoryRead.model_validate(
        tags.update_category(
            session=session,
            category=category,
            category_in=body,
            expected_version=expected_version,
        )
    )


@router.delete(
    "/tag-categories/{category_id:int}", tags=["tags"], status_code=status.HTTP_204_NO_CONTENT
)
def delete_tag_category(
    category_id: int, session: DbSession, _: Annotated[User, require("tags", "manage")]
) -> None:
    tags.delete_category(
        session=session, category=tags.get_category(session=session, category_id=category_id)
    )


# ---------------------------------------------------------------- custom fields


@router.get("/custom-fields", tags=["custom fields"])
def list_custom_fields(
    session: DbSession,
    _: Annotated[User, require("customers", "read")],
    entity: Literal["customer", "contact"] = "customer",
) -> list[CustomFieldRead]:
    return [
        CustomFieldRead.model_validate(d)
        for d in custom_fields.definitions(session, entity, active_only=False)
    ]


@router.post("/custom-fields", tags=["custom fields"], status_code=status.HTTP_201_CREATED)
def create_custom_field(
    body: CustomFieldIn, session: DbSession, _: Annotated[User, require("settings", "manage")]
) -> CustomFieldRead:
    return CustomFieldRead.model_validate(custom_fields.create(session=session, field_in=body))


@router.put("/custom-fields/{definition_id:int}", tags=["custom fields"])
def update_custom_field(
    definition_id: int,
    body: CustomFieldIn,
    session: DbSession,
    expected_version: IfMatch,
    _: Annotated[User, require("settings", "manage")],
) -> CustomFieldRead:
    definition = custom_fields.get(session=session, definition_id=definition_id)
    return CustomFieldRead.model_validate(
        custom_fields.update(
            session=session,
            definition=definition,
            field_in=body,
            expected_version=expected_version,
        )
    )
