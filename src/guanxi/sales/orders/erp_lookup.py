"""What an ERP batch needs to read before it is planned, one query per kind of record: the
orders already stored under the batch's external ids (and their lines), the customers it names
that the caller may see, and the products its lines name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers.models import Customer
from guanxi.customers.transfer.import_batch import chunked, one_of
from guanxi.sales.models import Order, OrderLine, Product
from guanxi.sales.orders.erp_schemas import ErpOrderIn

# the order columns read back to compare and to update (COMPARED in erp.py, plus the
# timestamps that an update keeps)
STORED = (
    "customer_id",
    "channel",
    "status",
    "ordered_at",
    "currency",
    "subtotal",
    "discount_total",
    "total",
    "cost_total",
    "refunded",
    "invoiced_total",
    "notes",
    "confirmed_at",
    "completed_at",
    "cancelled_at",
    "owner_id",
    "team_id",
)
_LINE_COLUMNS = (
    "order_id",
    "product_id",
    "sku",
    "description",
    "quantity",
    "unit_price",
    "unit_cost",
    "discount",
    "shipped_quantity",
    "returned_quantity",
)
_NOTHING = Decimal("0")


class CustomerRef(NamedTuple):
    id: int
    owner_id: int | None
    team_id: int | None


class ProductRef(NamedTuple):
    id: int
    sku: str
    name: str
    unit_cost: Decimal


@dataclass(slots=True)
class Existing:
    """An order already stored under an external id: its columns and lines as tuples in the
    order of ``LINE_FIELDS`` (erp_writes.py), to compare with what a request sends."""

    id: int
    version: int
    number: str
    values: dict[str, Any]
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    goods_moved: bool = False  # some of its goods were shipped or returned
    returned: bool = False


@dataclass
class Lookups:
    actor_id: int
    actor_team_id: int | None
    customers_by_id: dict[int, CustomerRef] = field(default_factory=dict)
    customers_by_external_id: dict[str, CustomerRef] = field(default_factory=dict)
    products_by_id: dict[int, ProductRef] = field(default_factory=dict)
    products_by_sku: dict[str, ProductRef] = field(default_factory=dict)
    products_by_external_id: dict[str, ProductRef] = field(default_factory=dict)
    existing: dict[str, Existing] = field(default_factory=dict)
    # ids of existing orders the caller may change: the ones they may see, as everywhere
    visible_orders: set[int] = field(default_factory=set)


def load_lookups(
    session: Session, actor: User, external_ids: list[str], orders: Sequence[ErpOrderIn]
) -> Lookups:
    """Everything a batch is planned against, in a fixed handful of queries."""
    lookups = Lookups(actor.id, actor.team_id)
    _load_existing(session, lookups, external_ids)
    customer_ids = {o.customer_id for o in orders if o.customer_id is not None}
    customer_ids.update(e.values["customer_id"] for e in lookups.existing.values())
    customer_keys = {o.customer_external_id for o in orders if o.customer_external_id is not None}
    _load_customers(session, actor, lookups, sorted(customer_ids), sorted(customer_keys))
    _load_products(session, lookups, orders)
    _load_visible_orders(session, actor, lookups)
    return lookups


def _load_existing(session: Session, lookups: Lookups, external_ids: list[str]) -> None:
    if not external_ids:
        return
    columns = [
        Order.id,
        Order.version,
        Order.external_id,
        Order.number,
        *(getattr(Order, n) for n in STORED),
    ]
    by_id: dict[int, Existing] = {}
    for chunk in chunked(external_ids):
        for row in session.execute(
            select(*columns).where(one_of(session, Order.external_id, chunk))
        ):
            found = Existing(row[0], row[1], row[3], dict(zip(STORED, row[4:], strict=True)))
            lookups.existing[row[2]] = found
            by_id[found.id] = found
    if not by_id:
        return
    line_columns = [getattr(OrderLine, n) for n in _LINE_COLUMNS]
    for id_chunk in chunked(sorted(by_id)):
        stmt = (
            select(*line_columns)
            .where(one_of(session, OrderLine.order_id, id_chunk))
            .order_by(OrderLine.order_id, OrderLine.line_no)
        )
        for order_id, *line, shipped, returned in session.execute(stmt):
            found = by_id[order_id]
            found.lines.append(tuple(line))
            if shipped > _NOTHING or returned > _NOTHING:
                found.goods_moved = True
            if returned > _NOTHING:
                found.returned = True


def _load_customers(
    session: Session, actor: User, lookups: Lookups, ids: list[int], keys: list[str]
) -> None:
    columns = (Customer.id, Customer.external_id, Customer.owner_id, Customer.team_id)
    for id_chunk, key_chunk in _paired(ids, keys):
        conditions: list[ColumnElement[bool]] = []
        if id_chunk:
            conditions.append(one_of(session, Customer.id, id_chunk))
        if key_chunk:
            conditions.append(one_of(session, Customer.external_id, key_chunk))
        stmt = select(*columns).where(Customer.deleted_at.is_(None), or_(*conditions))
        for customer_id, external_id, owner_id, team_id in session.execute(
            restrict(stmt, Customer, actor)
        ):
            ref = CustomerRef(customer_id, owner_id, team_id)
            lookups.customers_by_id[customer_id] = ref
            if external_id is not None:
                lookups.customers_by_external_id[external_id] = ref


def _load_products(session: Session, lookups: Lookups, orders: Sequence[ErpOrderIn]) -> None:
    ids: set[int] = set()
    skus: set[str] = set()
    keys: set[str] = set()
    for order_in in orders:
        for line in order_in.lines:
            if line.product_id is not None:
                ids.add(line.product_id)
            elif line.product_external_id is not None:
                keys.add(line.product_external_id)
            elif line.sku is not None:
                skus.add(line.sku)
    conditions: list[ColumnElement[bool]] = []
    if ids:
        conditions.append(one_of(session, Product.id, sorted(ids)))
    if skus:
        conditions.append(one_of(session, Product.sku, sorted(skus)))
    if keys:
        conditions.append(one_of(session, Product.external_id, sorted(keys)))
    if not conditions:
        return
    # a catalogue has thousands of products, not millions: one query for the batch
    stmt = select(
        Product.id, Product.sku, Product.external_id, Product.name, Product.unit_cost
    ).where(or_(*conditions))
    for product_id, sku, external_id, name, unit_cost in session.execute(stmt):
        ref = ProductRef(product_id, sku, name, unit_cost)
        lookups.products_by_id[product_id] = ref
        lookups.products_by_sku[sku] = ref
        if external_id is not None:
            lookups.products_by_external_id[external_id] = ref


def _load_visible_orders(session: Session, actor: User, lookups: Lookups) -> None:
    existing = list(lookups.existing.values())
    if actor.role.record_scope == "all" and actor.is_active:
        lookups.visible_orders = {e.id for e in existing}
        return
    for chunk in chunked(sorted(e.id for e in existing)):
        stmt = restrict(select(Order.id).where(one_of(session, Order.id, chunk)), Order, actor)
        lookups.visible_orders.update(session.scalars(stmt))


def _paired(ids: list[int], keys: list[str]) -> list[tuple[list[int], list[str]]]:
    id_chunks = list(chunked(ids)) or [[]]
    key_chunks = list(chunked(keys)) or [[]]
    width = max(len(id_chunks), len(key_chunks))
    id_chunks += [[]] * (width - len(id_chunks))
    key_chunks += [[]] * (width - len(key_chunks))
    if not ids and not keys:
        return []
    return list(zip(id_chunks, key_chunks, strict=True))
