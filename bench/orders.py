"""Bulk order upsert benchmark (issue 4): millions of order lines through the ERP bulk API.

On SQLite, and on PostgreSQL when GUANXI_BENCH_POSTGRES_URL (or GUANXI_TEST_POSTGRES_URL) is set:

1. a store with N customers (default 1,000,000, bulk-inserted directly with their external ids,
   as the customer benchmark's floor writes them) and 1,000 products;
2. the floor: the same orders and lines that the API will store (numbers, totals and costs
   computed beforehand, not timed), written with no Guanxi in between: ``executemany`` on
   SQLite, ``COPY`` on PostgreSQL, one transaction per request's worth of orders; then the
   tables are emptied again;
3. Guanxi: the orders sent to ``POST /api/v1/orders/bulk`` through the ASGI app in-process
   (``TestClient``: JSON encoding and decoding, authentication, validation, customer and product
   resolution by external id and SKU, money, numbers, bulk inserts, the audit batch), requests of
   ``--per-request`` orders, as an administrator. Building each request's Python payload is not
   timed; everything from encoding it on is.

Orders have 1-5 lines (3 on average), so 5,000,000 lines are about 1.67 M orders. Figures are
rows per second, a row being an order or a line, for both; the ratio is floor / Guanxi.

Target from the issue: within 4x of the raw insert.

    python bench/orders.py [--lines 5000000] [--customers 1000000] [--per-request 5000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from stores import backends, scratch_database

from guanxi import crypto, schema
from guanxi.app import create_app
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.bulk import insert_many
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database, make_engine
from guanxi.sales import numbering
from guanxi.sales.models import Product
from guanxi.sales.orders.money import ZERO, line_amounts, order_totals

console = Console()
PRODUCTS = 1000
CHANNELS = ("web", "store", "marketplace", "phone")
START = datetime(2023, 11, 23, tzinfo=UTC)


# ---------------------------------------------------------------- the store


def load_store(db: Database, customers: int) -> tuple[int, str]:
    """Customers and products bulk-inserted, and an administrator: (admin id, API token)."""
    with db.unit_of_work() as session:
        tracking.set_actor(session, AuditActor(None, "bench"))
        admin = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="bench-admin", password="p" * 12, role="admin"),
        )
        token = login.create_token(session=session, user=admin, name="bench", expires_in_days=1)
        admin_id, secret = admin.id, token.token
    rng = random.Random(11)
    with db.unit_of_work() as session:
        products = []
        for n in range(1, PRODUCTS + 1):
            price = Decimal(rng.randrange(500, 200_000)) / 100
            products.append(
                {
                    "id": n,
                    "sku": f"SKU-{n:05d}",
                    "name": f"商品 {n}",
                    "list_price": price,
                    "unit_cost": (price * Decimal(rng.uniform(0.4, 0.9))).quantize(ZERO),
                    "external_id": f"erp-p-{n}",
                }
            )
        insert_many(session.connection(), Product.__table__, products)  # type: ignore[arg-type]
    batch = 20_000
    for start in range(1, customers + 1, batch):
        rows = [
            {
                "id": n,
                "name": f"客户{n}",
                "name_key": f"客户{n}",
                "external_id": f"c-{n}",
                "search_text": f"客户{n}",
                "owner_id": admin_id,
            }
            for n in range(start, min(start + batch, customers + 1))
        ]
        with db.unit_of_work() as session:
            insert_many(session.connection(), Customer.__table__, rows)  # type: ignore[arg-type]
    return admin_id, secret


# ---------------------------------------------------------------- the orders


def payloads(lines: int, customers: int, per_request: int) -> Iterator[list[dict[str, Any]]]:
    """The orders, a request at a time: seeded, 1-5 lines each, until ``lines`` lines."""
    rng = random.Random(5)
    prices = random.Random(11)
    list_prices = [Decimal(prices.randrange(500, 200_000)) / 100 for _ in range(PRODUCTS)]
    sent = 0
    number = 0
    while sent < lines:
        orders = []
        while len(orders) < per_request and sent < lines:
            number += 1
            count = min(rng.randint(1, 5), lines - sent)
            sent += count
            order_lines = []
            for _ in range(count):
                product = rng.randrange(PRODUCTS)
                quantity = rng.choice((1, 1, 1, 2, 2, 3, 5, 10))
                price = list_prices[product]
                discount = (price * quantity / 10).quantize(ZERO) if rng.random() < 0.2 else ZERO
                line: dict[str, Any] = {"quantity": str(quantity), "unit_price": str(price)}
                if rng.random() < 0.5:
                    line["sku"] = f"SKU-{product + 1:05d}"
                else:
                    line["product_external_id"] = f"erp-p-{product + 1}"
                if discount:
                    line["discount"] = str(discount)
                order_lines.append(line)
            ordered_at = START + timedelta(seconds=rng.randrange(3 * 365 * 86400))
            orders.append(
                {
                    "external_id": f"shop-{number}",
                    "customer_external_id": f"c-{rng.randint(1, customers)}",
                    "channel": rng.choice(CHANNELS),
                    "status": "completed" if rng.random() < 0.9 else "cancelled",
                    "ordered_at": ordered_at.isoformat(),
                    "currency": "CNY",
                    "lines": order_lines,
                }
            )
        yield orders


def floor_rows(
    orders: list[dict[str, Any]], first_id: int, owner_id: int, costs: list[Decimal]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows the API stores for these orders, computed with the same money rules."""
    now = datetime.now(UTC)
    order_rows, line_rows = [], []
    for order_id, order in enumerate(orders, start=first_id):
        amounts = []
        for line_no, line in enumerate(order["lines"], start=1):
            key = line.get("sku") or line["product_external_id"]
            product = int(key.rsplit("-", 1)[1])
            quantity, price = Decimal(line["quantity"]), Decimal(line["unit_price"])
            discount = Decimal(line.get("discount", "0"))
            money = line_amounts(quantity, price, costs[product - 1], discount)
            amounts.append(money)
            line_rows.append(
                (order_id, line_no, product, f"SKU-{product:05d}", f"商品 {product}", quantity,
                 price, costs[product - 1], money.discount, 0, 0)
            )  # fmt: skip
        totals = order_totals(amounts)
        ordered_at = datetime.fromisoformat(order["ordered_at"])
        cancelled = order["status"] == "cancelled"
        customer = int(order["customer_external_id"][2:])
        order_rows.append(
            (order_id, numbering.document_number(numbering.ORDER, ordered_at, order_id),
             order["external_id"], customer,
             order["channel"], order["status"], ordered_at, "CNY", totals.subtotal,
             totals.discount_total, totals.total, ZERO if cancelled else totals.cost_total,
             ZERO, totals.total if cancelled else ZERO, "", None if cancelled else now,
             None if cancelled else now, now if cancelled else None, "", owner_id, None, now,
             now, 1)
        )  # fmt: skip
    return order_rows, line_rows


ORDER_COLUMNS = (
    "id, number, external_id, customer_id, channel, status, ordered_at, currency, subtotal, "
    "discount_total, total, cost_total, invoiced_total, refunded, notes, confirmed_at, "
    "completed_at, cancelled_at, cancel_reason, owner_id, team_id, created_at, updated_at, version"
)
LINE_COLUMNS = (
    "order_id, line_no, product_id, sku, description, quantity, unit_price, unit_cost, discount, "
    "shipped_quantity, returned_quantity"
)


def raw_floor(url: str, backend: str, args: argparse.Namespace, owner_id: int) -> float:
    """The same orders and lines with no Guanxi in between (rows per second, store's work only)."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    cursor: Any = raw.cursor()
    costs = _costs(cursor)
    elapsed, written, next_id = 0.0, 0, 1
    for orders in payloads(args.lines, args.customers, args.per_request):
        order_rows, line_rows = floor_rows(orders, next_id, owner_id, costs)
        next_id += len(orders)
        if backend == "sqlite":  # the stored forms: naive UTC text, numbers as text
            order_rows = [_sqlite_order(row) for row in order_rows]
            line_rows = [tuple(_sqlite_value(v) for v in row) for row in line_rows]
        started = time.perf_counter()
        if backend == "postgresql":
            for table, columns, rows in (
                ("orders", ORDER_COLUMNS, order_rows),
                ("order_lines", LINE_COLUMNS, line_rows),
            ):
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
        else:
            cursor.execute("BEGIN")
            for table, columns, rows in (
                ("orders", ORDER_COLUMNS, order_rows),
                ("order_lines", LINE_COLUMNS, line_rows),
            ):
                marks = ", ".join("?" * len(rows[0]))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
            cursor.execute("COMMIT")
        elapsed += time.perf_counter() - started
        written += len(order_rows) + len(line_rows)
    if backend == "postgresql":
        cursor.execute("TRUNCATE order_lines, orders CASCADE")
        raw.commit()
    else:
        cursor.execute("BEGIN")
        cursor.execute("DELETE FROM order_lines")
        cursor.execute("DELETE FROM orders")
        cursor.execute("COMMIT")
    raw.close()
    engine.dispose()
    return written / elapsed


def _costs(cursor: Any) -> list[Decimal]:
    cursor.execute("SELECT unit_cost FROM products ORDER BY id")
    return [Decimal(str(row[0])).quantize(ZERO) for row in cursor.fetchall()]


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


def _sqlite_order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_sqlite_value(v) for v in row)


# ---------------------------------------------------------------- Guanxi


def through_api(settings: Settings, db: Database, token: str, args: argparse.Namespace) -> dict:
    """Every request sent to the bulk API; (rows/s, counts)."""
    app = create_app(settings, database=db, embedded_worker=False)
    headers = {"Authorization": f"Bearer {token}"}
    elapsed, rows = 0.0, 0
    counts = {"created": 0, "updated": 0, "unchanged": 0, "refused": 0}
    with TestClient(app) as client:
        for orders in payloads(args.lines, args.customers, args.per_request):
            started = time.perf_counter()
            reply = client.post("/api/v1/orders/bulk", json={"orders": orders}, headers=headers)
            elapsed += time.perf_counter() - started
            if reply.status_code != 200:
                raise SystemExit(f"bulk request failed: {reply.status_code} {reply.text[:500]}")
            body = reply.json()
            for key in counts:
                counts[key] += body[key]
            rows += len(orders) + sum(len(o["lines"]) for o in orders)
            if body["refusals"]:
                console.print(body["refusals"][:3])
    return {"rate": rows / elapsed, "rows": rows, "seconds": elapsed, **counts}


def run(backend: str, args: argparse.Namespace, table: Table) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(backend, Path(tmp), "orders") as url,
    ):
        directory = Path(tmp)
        settings = Settings(
            data_dir=directory, database_url=url, secret_key="b" * 40, embedded_worker=False
        )
        crypto.configure(settings)
        db = Database(url)
        schema.upgrade(db)
        console.print(f"[{backend}] loading {args.customers:,} customers, {PRODUCTS} products")
        admin_id, token = load_store(db, args.customers)
        console.print(f"[{backend}] floor: raw insert of {args.lines:,} lines and their orders")
        floor = raw_floor(url, backend, args, admin_id)
        console.print(f"[{backend}] Guanxi: POST /api/v1/orders/bulk")
        guanxi = through_api(settings, db, token, args)
        with db.engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM order_lines")).scalar_one()
        method = "COPY" if backend == "postgresql" else "executemany"
        table.add_row(
            backend,
            f"bulk upsert of {args.lines:,} lines in {guanxi['created']:,} orders "
            f"({args.per_request:,} orders per request)",
            f"{guanxi['rate']:,.0f} rows/s ({guanxi['seconds']:,.0f} s)",
            f"raw {method} {floor:,.0f} rows/s",
            f"{floor / guanxi['rate']:.1f}x",
        )
        table.add_row(
            backend,
            "  of which",
            f"{guanxi['created']:,} created, {guanxi['refused']:,} refused",
            f"{stored:,} lines stored",
            "",
        )
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--per-request", type=int, default=5000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    args = parser.parse_args()
    table = Table(title=f"Guanxi bulk order upsert at {args.lines:,} lines")
    for column in ("store", "measure", "Guanxi", "floor (same run)", "ratio"):
        table.add_column(column)
    for backend in args.backend or backends():
        run(backend, args, table)
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
