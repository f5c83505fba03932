"""JSON API for products: list, read, create, update, delete, upsert by external id, and
import from CSV/XLSX."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.customers.transfer.importing import imports_dir
from guanxi.deps import DbSession, IfMatch, SettingsDep, require
from guanxi.errors import N_, FieldError, InvalidInput, PermissionDenied
from guanxi.pagination import PageOut
from guanxi.sales.products import importing
from guanxi.sales.products import service as product_service
from guanxi.sales.products.schemas import (
    ImportRefusal,
    ProductCreate,
    ProductImportResult,
    ProductRead,
    ProductUpdate,
    ProductUpsert,
)

router = APIRouter(prefix="/api/v1", tags=["products"])
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/products")
def list_products(
    session: DbSession,
    actor: Annotated[User, require("products", "read")],
    q: Annotated[str, Query(description="Fragment of the SKU or name")] = "",
    category: str = "",
    active: Annotated[bool | None, Query(description="Only active (true) or inactive")] = None,
    sort: Literal["sku", "name", "category", "list_price", "updated_at", "created_at"] = "sku",
    order: Literal["asc", "desc"] = "asc",
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[ProductRead]:
    page = product_service.list_products(
        session=session,
        actor=actor,
        spec=product_service.ProductFilter(q=q, category=category, active=active),
        sort=sort,
        descending=order == "desc",
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[product_service.to_read(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.post("/products", status_code=status.HTTP_201_CREATED)
def create_product(
    body: ProductCreate,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("products", "create")],
) -> ProductRead:
    product = product_service.create(session=session, actor=actor, product_in=body)
    response.headers["ETag"] = etag(product.version)
    return product_service.to_read(product)


@router.get("/products/categories")
def product_categories(
    session: DbSession, actor: Annotated[User, require("products", "read")]
) -> list[str]:
    """The categories in use, alphabetically."""
    return product_service.categories(session=session, actor=actor)


@router.get("/products/{product_id:int}")
def read_product(
    product_id: int,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("products", "read")],
) -> ProductRead:
    product = product_service.get(session=session, actor=actor, product_id=product_id)
    response.headers["ETag"] = etag(product.version)
    return product_service.to_read(product)


@router.patch("/products/{product_id:int}")
def update_product(
    product_id: int,
    body: ProductUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("products", "update")],
) -> ProductRead:
    """Change the fields sent; send ``If-Match`` with the ETag you read to avoid lost updates."""
    product = product_service.get(session=session, actor=actor, product_id=product_id)
    product = product_service.update(
        session=session,
        actor=actor,
        product=product,
        product_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(product.version)
    return product_service.to_read(product)


@router.delete("/products/{product_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_product(
    product_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("products", "delete")],
) -> None:
    """Delete a product never used on an order; one that was answers 409 (deactivate it with
    ``PATCH {"is_active": false}``)."""
    product = product_service.get(session=session, actor=actor, product_id=product_id)
    product_service.delete(
        session=session, actor=actor, product=product, expected_version=expected_version
    )


@router.put("/products/by-external-id/{external_id}")
def upsert_product(
    external_id: str,
    body: ProductUpsert,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("products", "update")],
) -> ProductRead:
    """Create (201) or update (200) the product another system knows by ``external_id``; the
    same call twice changes nothing (same version, no audit entry)."""
    if not actor.can("products", "create"):
        # an upsert may create, so it needs both grants
        raise PermissionDenied(
            N_("Your role may not {action} {resource}."), action="create", resource="products"
        )
    product, created, _changed = product_service.upsert_by_external_id(
        session=session, actor=actor, external_id=external_id, product_in=body
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["ETag"] = etag(product.version)
    return product_service.to_read(product)


def _mapping(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidInput(
            N_("The mapping must be a JSON object like {example}."),
            errors=[FieldError("mapping", N_("This value is not valid."))],
            example='{"货号": "sku", "售价": "list_price"}',
        )
    return {str(k): str(v or "") for k, v in value.items()}


@router.post("/products/import")
def import_products(
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX")],
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("products", "create")],
    dry_run: Annotated[bool, Query(description="Check every row, write nothing")] = False,
    mapping: Annotated[
        str | None, Form(description='JSON {"file column": "field"}; default: by headers')
    ] = None,
) -> ProductImportResult:
    """Import up to 10,000 products in this request: rows are matched by external id, then
    SKU; refused rows are listed with row, column and reason, the good ones are written."""
    columns = _mapping(mapping)
    stored = importing.store_upload(file.file, file.filename or "upload", imports_dir(settings))
    try:
        outcome = importing.import_file(
            session=session,
            actor=actor,
            path=stored,
            filename=file.filename or stored.name,
            mapping=columns,
            dry_run=dry_run,
        )
    finally:
        stored.unlink(missing_ok=True)
    return result_of(outcome)


def result_of(outcome: importing.Outcome) -> ProductImportResult:
    return ProductImportResult(
        dry_run=outcome.dry_run,
        rows=outcome.rows,
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        refused=outcome.refused,
        mapping=outcome.mapping,
        refusals=[
            ImportRefusal(row=r.row, column=r.column, reason=r.english()) for r in outcome.refusals
        ],
    )
