"""The simulated store behind bench/analytics_store.py: customers, products in categories, and
two years of orders with lines from the BG/NBD + Gamma-Gamma process, written with core bulk
inserts (SQLite ``executemany`` in large transactions, PostgreSQL ``COPY`` of Arrow-written CSV).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from guanxi import crypto, schema
from guanxi.analytics.clv import simulate_transactions
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.bulk import insert_many
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database

START, DAYS = dt.date(2024, 1, 1), 730
TRUTH = {"r": 0.5, "alpha": 16.0, "a": 0.5, "b": 3.0, "p": 6.0, "q": 4.0, "v": 15.0}
CATEGORIES = 40
PER_CATEGORY = 50
CHANNELS = ("web", "store", "marketplace", "phone")
UTC_OFFSET_HOURS = 8  # simulated times are company time (Asia/Shanghai); the store keeps UTC
CHUNK = 500_000

ORDER_COLUMNS = (
    "id",
    "number",
    "customer_id",
    "channel",
    "status",
    "ordered_at",
    "currency",
    "subtotal",
    "discount_total",
    "total",
    "cost_total",
    "invoiced_total",
    "refunded",
    "notes",
    "confirmed_at",
    "completed_at",
    "cancel_reason",
    "owner_id",
    "created_at",
    "updated_at",
    "version",
)
LINE_COLUMNS = (
    "order_id",
    "line_no",
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


def _base(db: Database, customers: int, secret: str) -> int:
    """Schema, an administrator who owns everything, products and customers; the admin's id."""
    schema.upgrade(db)
    with db.unit_of_work() as session:
        tracking.set_actor(session, AuditActor(None, "bench"))
        admin = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="bench-admin", password="p" * 12, role="admin"),
        )
        admin_id = admin.id
    rng = np.random.default_rng(3)
    prices = np.round(rng.uniform(20, 800, CATEGORIES * PER_CATEGORY), 2)
    with db.unit_of_work() as session:
        insert_many(
            session.connection(),
            db_table("products"),
            [
                {
                    "id": n + 1,
                    "sku": f"SKU-{n + 1:05d}",
                    "name": f"商品 {n + 1}",
                    "category": f"类目 {n // PER_CATEGORY + 1:02d}",
                    "list_price": float(prices[n]),
                    "unit_cost": round(float(prices[n]) * 0.6, 2),
                    "external_id": f"p-{n + 1}",
                }
                for n in range(CATEGORIES * PER_CATEGORY)
            ],
        )
    for start in range(1, customers + 1, 20_000):
        rows = [
            {
                "id": n,
                "name": f"客户{n}",
                "name_key": f"客户{n}",
                "external_id": f"c-{n}",
                "search_text": f"客户{n}",
                "owner_id": admin_id,
            }
            for n in range(start, min(start + 20_000, customers + 1))
        ]
        with db.unit_of_work() as session:
            insert_many(session.connection(), Customer.__table__, rows)  # type: ignore[arg-type]
    return admin_id


def db_table(name: str) -> Any:
    from guanxi.models import Base  # every model registered

    return Base.metadata.tables[name]


def simulate(customers: int, owner_id: int) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(orders, lines) as Arrow, a chunk of customers at a time, in the stores' column shapes."""
    tx = simulate_transactions(customers, **TRUTH, start=START, days=DAYS, seed=7)
    rng = np.random.default_rng(13)
    favourite = rng.integers(0, CATEGORIES, customers)
    channel_of = rng.integers(0, len(CHANNELS), customers)
    now = pa.scalar(dt.datetime(2026, 1, 1), pa.timestamp("us"))
    customer_all = tx.column("customer_id").to_numpy()
    edges = np.searchsorted(customer_all, np.arange(1, customers + 2, 100_000))
    order_id = 0
    for lo, hi in itertools.pairwise(edges):
        part = tx.slice(lo, hi - lo)
        n = part.num_rows
        customer = part.column("customer_id").to_numpy()
        ids = np.arange(order_id + 1, order_id + n + 1, dtype=np.int64)
        order_id += n
        # lines: 1-3 per order; 70% in the customer's favourite category, popular products first
        count = 1 + rng.binomial(2, 0.35, n)
        owner = np.repeat(np.arange(n), count)
        in_favourite = rng.random(owner.size) < 0.7
        category = np.where(
            in_favourite, favourite[customer[owner] - 1], rng.integers(0, CATEGORIES, owner.size)
        )
        rank = np.minimum((PER_CATEGORY * rng.random(owner.size) ** 2).astype(np.int64), 49)
        product = category * PER_CATEGORY + rank + 1
        share = rng.uniform(0.5, 1.5, owner.size)
        starts = np.cumsum(count) - count
        share /= np.add.reduceat(share, starts)[owner]
        amount = part.column("amount").to_numpy()
        price = np.maximum(np.round(amount[owner] * share, 2), 0.01)
        cost = np.round(price * 0.6, 2)
        total = np.round(np.add.reduceat(price, starts), 2)
        cost_total = np.round(np.add.reduceat(cost, starts), 2)
        line_no = np.arange(owner.size) - starts[owner] + 1
        utc = pc.subtract(
            part.column("ts"), pa.scalar(dt.timedelta(hours=UTC_OFFSET_HOURS), pa.duration("us"))
        )
        number = pc.binary_join_element_wise(
            "SO-",
            pc.strftime(utc, "%Y%m%d"),
            "-",
            pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 6, "0"),
            "",
        )
        orders = pa.table(
            {
                "id": ids,
                "number": number,
                "customer_id": customer,
                "channel": pa.array(np.array(CHANNELS)[channel_of[customer - 1]]),
                "status": pa.array(np.full(n, "completed")),
                "ordered_at": utc,
                "currency": pa.array(np.full(n, "CNY")),
                "subtotal": total,
                "discount_total": np.zeros(n),
                "total": total,
                "cost_total": cost_total,
                "invoiced_total": np.zeros(n),
                "refunded": np.zeros(n),
                "notes": pa.array(np.full(n, "")),
                "confirmed_at": utc,
                "completed_at": utc,
                "cancel_reason": pa.array(np.full(n, "")),
                "owner_id": np.full(n, owner_id, dtype=np.int64),
                "created_at": pa.array(np.full(n, now.value), pa.timestamp("us")),
                "updated_at": pa.array(np.full(n, now.value), pa.timestamp("us")),
                "version": np.ones(n, dtype=np.int64),
            }
        )
        sku = pc.binary_join_element_wise(
            "SKU-", pc.utf8_lpad(pc.cast(pa.array(product), pa.string()), 5, "0"), ""
        )
        lines = pa.table(
            {
                "order_id": ids[owner],
                "line_no": line_no,
                "product_id": product,
                "sku": sku,
                "description": pc.binary_join_element_wise(
                    "商品 ", pc.cast(pa.array(product), pa.string()), ""
                ),
                "quantity": np.ones(owner.size),
                "unit_price": price,
                "unit_cost": cost,
                "discount": np.zeros(owner.size),
                "shipped_quantity": np.zeros(owner.size),
                "returned_quantity": np.zeros(owner.size),
            }
        )
        yield orders, lines


def _sqlite_columns(table: pa.Table) -> Iterator[tuple[Any, ...]]:
    columns = []
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):  # SQLAlchemy's stored form on SQLite
            column = pc.strftime(column, "%Y-%m-%d %H:%M:%S")  # %S carries the microseconds
        columns.append(column.to_pylist())
    return zip(*columns, strict=True)


def build_sqlite(path: Path, customers: int, secret: str, console: Console) -> None:
    """Build the store into ``path`` (via a temporary name, so a half-built file is never used)."""
    building = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{building}"
    crypto.configure(Settings(data_dir=path.parent, database_url=url, secret_key=secret))
    db = Database(url)
    owner = _base(db, customers, secret)
    db.dispose()
    connection = sqlite3.connect(building, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    written = 0
    for orders, lines in simulate(customers, owner):
        connection.execute("BEGIN")
        for name, table in (("orders", orders), ("order_lines", lines)):
            marks = ", ".join("?" * table.num_columns)
            names = ", ".join(table.column_names)
            connection.executemany(
                f"INSERT INTO {name} ({names}) VALUES ({marks})",
                _sqlite_columns(table),
            )
        connection.execute("COMMIT")
        written += orders.num_rows
        console.print(f"  {written:,} orders", end="\r")
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    building.rename(path)
    console.print(f"  {written:,} orders written to {path}")


def build_postgres(
    base: URL, database: str, customers: int, secret: str, console: Console, rebuild: bool
) -> None:
    """Build the store in ``database`` on the server of ``base`` unless it is there already
    (a store counts as built once its orders are; a half-built one is built again)."""
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        ).scalar()
    url = base.set(database=database).render_as_string(hide_password=False)
    if exists and not rebuild:
        probe = create_engine(url)
        with probe.connect() as connection:
            built = (
                connection.execute(text("SELECT value FROM bench_built WHERE id = 1")).scalar()
                if _has_marker(connection)
                else None
            )
        probe.dispose()
        if built:
            admin.dispose()
            return
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        connection.execute(
            text(
                f"CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8' "
                "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            )
        )
    admin.dispose()
    crypto.configure(Settings(database_url=url, secret_key=secret))
    db = Database(url)
    owner = _base(db, customers, secret)
    written = 0
    for orders, lines in simulate(customers, owner):
        with db.engine.begin() as connection:
            driver: Any = connection.connection.dbapi_connection
            with driver.cursor() as cursor:
                for name, table in (("orders", orders), ("order_lines", lines)):
                    buffer = io.BytesIO()
                    pacsv.write_csv(table, buffer)
                    names = ", ".join(table.column_names)
                    sql = f"COPY {name} ({names}) FROM STDIN (FORMAT csv, HEADER true)"
                    with cursor.copy(sql) as copy:
                        copy.write(buffer.getvalue())
        written += orders.num_rows
        console.print(f"  {written:,} orders", end="\r")
    with db.engine.begin() as connection:
        connection.execute(text("SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))"))
        connection.execute(text("ANALYZE"))
        connection.execute(text("CREATE TABLE bench_built (id int PRIMARY KEY, value int)"))
        connection.execute(text("INSERT INTO bench_built VALUES (1, :n)"), {"n": written})
    db.dispose()
    console.print(f"  {written:,} orders written to {database}")


def _has_marker(connection: Any) -> bool:
    return bool(connection.execute(text("SELECT to_regclass('bench_built')")).scalar())
