"""Use cases for the product catalogue: create, read, change, list, deactivate, delete, and the
idempotent upsert by external id that ERP and shop integrations call.

Products are a shared catalogue, not owned records: everyone whose role may read products sees
all of them, so there is no visibility filter here; what a role may change is checked where the
route is declared. Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.concurrency import ensure_version
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.pagination import Page, paginate_sorted
from guanxi.sales.models import OrderLine, Product
from guanxi.sales.products.schemas import (
    ProductCreate,
    ProductRead,
    ProductUpdate,
    ProductUpsert,
)

FIELDS = (
    "sku",
    "name",
    "category",
    "list_price",
    "unit_cost",
    "unit",
    "description",
    "is_active",
    "external_id",
)
SORTABLE = ("sku", "name", "category", "list_price", "updated_at", "created_at")


@dataclass(frozen=True)
class ProductFilter:
    """Which products a list shows: ``q`` is a fragment of the SKU or name; ``active`` None
    means active and inactive alike."""

    q: str = ""
    category: str = ""
    active: bool | None = None


def get(*, session: Session, actor: User, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(N_("Record {id} was not found."), id=product_id)
    return product


def get_by_sku(*, session: Session, actor: User, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku.strip()))
    if product is None:
        raise NotFound(N_("There is no product with the SKU {sku}."), sku=sku)
    return product


def find_by_external_id(*, session: Session, external_id: str) -> Product | None:
    return session.scalar(select(Product).where(Product.external_id == external_id))


def create(*, session: Session, actor: User, product_in: ProductCreate) -> Product:
    product = Product()
    apply_changes(session, product, product_in.model_dump())
    session.add(product)
    session.flush()
    return product


def update(
    *,
    session: Session,
    actor: User,
    product: Product,
    product_in: ProductUpdate,
    expected_version: int | None,
) -> Product:
    """Change the fields sent; a stale ``expected_version`` is refused (HTTP 412)."""
    ensure_version(product.version, expected_version)
    given = product_in.model_dump(include=product_in.model_fields_set)
    for required in ("sku", "name", "list_price", "unit_cost", "is_active", "category"):
        # these columns cannot be empty; sending null means nothing sensible
        if required in given and given[required] is None:
            raise InvalidInput(
                N_("The product could not be saved."),
                errors=[FieldError(required, N_("This field is required."))],
            )
    apply_changes(session, product, given)
    session.flush()
    return product


def upsert_by_external_id(
    *, session: Session, actor: User, external_id: str, product_in: ProductUpsert
) -> tuple[Product, bool, bool]:
    """Create or bring up to date the product another system knows as ``external_id``.

    Returns ``(product, created, changed)``. Sending the same data again changes nothing: no
    write, no audit entry, the same version. A product already in the catalogue under the same
    SKU and without an external id is adopted rather than duplicated."""
    external_id = external_id.strip()
    if not external_id or len(external_id) > 100:
        raise InvalidInput(
            N_("The external id must be 1 to 100 characters."),
            errors=[FieldError("external_id", N_("This value is not valid."))],
        )
    values = {**product_in.model_dump(), "external_id": external_id}
    product = find_by_external_id(session=session, external_id=external_id)
    if product is None:
        holder = session.scalar(select(Product).where(Product.sku == product_in.sku))
        if holder is not None and holder.external_id is None:
            product = holder
    if product is None:
        product = Product()
        apply_changes(session, product, values)
        session.add(product)
        session.flush()
        return product, True, False
    changed = apply_changes(session, product, values)
    session.flush()
    return product, False, changed


def apply_changes(session: Session, product: Product, values: dict[str, Any]) -> bool:
    """Set the given fields, checking that SKU and external id stay unique; only real
    differences are written, so an unchanged product keeps its version and audit trail.
    Returns whether anything changed."""
    if values.get("sku") is not None:
        _ensure_free(session, Product.sku, values["sku"], product.id, "sku")
    if values.get("external_id"):
        _ensure_free(session, Product.external_id, values["external_id"], product.id, "external_id")
    changed = False
    for name in FIELDS:
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, Decimal):
            value = value.quantize(Decimal("0.01"))
        if product.id is None or getattr(product, name) != value:
            setattr(product, name, value)
            changed = True
    return changed and product.id is not None


def _ensure_free(session: Session, column: Any, value: str, own_id: int | None, field: str) -> None:
    holder = session.scalar(select(Product.id).where(column == value))
    if holder is not None and holder != own_id:
        message = (
            N_("Another product already has the SKU {value}.")
            if field == "sku"
            else N_("Another product already has the external id {value}.")
        )
        raise Conflict(message, errors=[FieldError(field, N_("This value is taken."))], value=value)


def deactivate(
    *, session: Session, actor: User, product: Product, expected_version: int | None
) -> Product:
    """Take a product out of sale: it stays on past orders and in reports."""
    ensure_version(product.version, expected_version)
    if product.is_active:
        product.is_active = False
        session.flush()
    return product


def is_used(*, session: Session, product: Product) -> bool:
    """Whether any order line names the product (then it may only be deactivated)."""
    return bool(session.scalar(select(exists().where(OrderLine.product_id == product.id))))


def delete(
    *, session: Session, actor: User, product: Product, expected_version: int | None
) -> None:
    """Remove a product that was never sold; one on an order line can only be deactivated,
    because orders and the analytics that read them keep pointing at it."""
    ensure_version(product.version, expected_version)
    if is_used(session=session, product=product):
        raise Conflict(
            N_("The product {sku} is on orders, so it cannot be deleted; deactivate it instead."),
            errors=[FieldError("is_active", N_("Deactivate the product instead."))],
            sku=product.sku,
        )
    session.delete(product)
    session.flush()


def categories(*, session: Session, actor: User) -> list[str]:
    """The categories in use, in alphabetical order, for filters and the form's suggestions."""
    stmt = select(Product.category).where(Product.category != "").distinct()
    return sorted(session.scalars(stmt))


def _clauses(spec: ProductFilter) -> list[Any]:
    clauses: list[Any] = []
    fragment = spec.q.strip()
    if fragment:
        pattern = "%" + fragment.lower().replace("\\", "\\\\").replace("%", r"\%") + "%"
        pattern = pattern.replace("_", r"\_")
        clauses.append(
            or_(
                func.lower(Product.sku).like(pattern, escape="\\"),
                func.lower(Product.name).like(pattern, escape="\\"),
            )
        )
    if spec.category:
        clauses.append(Product.category == spec.category)
    if spec.active is not None:
        clauses.append(Product.is_active.is_(spec.active))
    return clauses


def list_products(
    *,
    session: Session,
    actor: User,
    spec: ProductFilter,
    sort: str = "sku",
    descending: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Product]:
    """A page of the catalogue, filtered and sorted; pass ``next_cursor`` on for the next."""
    if sort not in SORTABLE:
        raise InvalidInput(
            N_("Products cannot be sorted by {field}."),
            errors=[FieldError("sort", N_("Choose one of the offered values."))],
            field=sort,
        )
    stmt = select(Product).where(*_clauses(spec))
    return paginate_sorted(
        session,
        stmt,
        getattr(Product, sort),
        Product.id,
        limit=limit,
        cursor=cursor,
        descending=descending,
    )


def count_products(*, session: Session, actor: User, spec: ProductFilter) -> int:
    stmt = select(func.count()).select_from(Product).where(*_clauses(spec))
    return int(session.scalar(stmt) or 0)


# ---------------------------------------------------------------- shapes


def margin_percent(list_price: Decimal, unit_cost: Decimal) -> Decimal | None:
    """(list price - unit cost) / list price in percent, to one decimal; None without a price."""
    if not list_price:
        return None
    return ((list_price - unit_cost) * 100 / list_price).quantize(Decimal("0.1"))


def to_read(product: Product) -> ProductRead:
    return ProductRead(
        id=product.id,
        sku=product.sku,
        name=product.name,
        category=product.category,
        list_price=product.list_price,
        unit_cost=product.unit_cost,
        margin_percent=margin_percent(product.list_price, product.unit_cost),
        unit=product.unit,
        description=product.description,
        is_active=product.is_active,
        external_id=product.external_id,
        version=product.version,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )
