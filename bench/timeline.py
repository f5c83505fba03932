"""Customer timeline benchmark (issue 6): the 360 timeline of a customer with 10,000 entries
among 10,000,000 interactions.

On SQLite, and on PostgreSQL when GUANXI_BENCH_POSTGRES_URL (or GUANXI_TEST_POSTGRES_URL) is set:

1. a store with N customers (default 100,000), bulk-inserted; 10,000,000 interactions on every
   channel, in time order (ids grow with time, customers interleave, as a live system writes
   them), of which 10,000 belong to one customer (an eighth of them e-mails); that customer also
   has 300 follow-ups, 60 shop visits and 40 orders, and the rest of the store 100,000 follow-ups
   and 500,000 web events. Loaded with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL), the
   interaction table's secondary indexes dropped during the load and built afterwards, then
   ANALYZE — loading is not what is measured;
2. the timeline through the service (``customers.timeline.stream``, a new session per call, as a
   request has): the first page, the first page filtered by channel (phone) and by kind
   (interactions), and pages at random depths through the whole history (a cursor taken from a
   random entry);
3. the same through HTTP with a real client against a uvicorn server: the timeline API
   ``GET /api/v1/customers/{id}/timeline`` (when the app mounts it) and the customer 360 page
   ``GET /customers/{id}`` with its timeline filters and cursors (the page also draws every
   panel: profile, contacts, consent, orders and lifetime totals, the touch-centre panels).

The viewer is the customer's owner, a sales representative (own-records visibility applies).
Figures are p50 and p95 over ``--requests`` calls each.

Target from the issue: p95 under 100 ms.

    python bench/timeline.py [--interactions 10000000] [--customers 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import Index, text
from stores import backends, scratch_database

from guanxi import crypto, schema
from guanxi.app import create_app
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import UserCreate
from guanxi.bulk import insert_many
from guanxi.config import Settings
from guanxi.customers import timeline
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.interactions.models import CHANNELS, FollowUp, Interaction, WebEvent
from guanxi.sales.models import Order

console = Console(width=None if sys.stdout.isatty() else 150)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
HISTORY = timedelta(days=5 * 365)
TARGET = 1  # the customer whose timeline is read
TARGET_ENTRIES = 10_000
CHUNK = 200_000
SUBJECTS = (
    "询问新品到货",
    "报价跟进",
    "催款",
    "投诉物流慢",
    "年度采购计划",
    "合同续签",
    "微信咨询",
)
OUTCOMES = ("reached", "no_answer", "interested", "call_back", "")
COLUMNS = (
    "id",
    "customer_id",
    "channel",
    "direction",
    "occurred_at",
    "user_id",
    "subject",
    "notes",
    "outcome",
    "source",
    "message_id",
    "email_address",
    "created_at",
    "updated_at",
    "version",
)


# ---------------------------------------------------------------- the store


def _stored(moment: datetime, backend: str) -> str:
    """A UTC instant as each store keeps it (SQLite: naive text with microseconds, as
    SQLAlchemy writes it)."""
    if backend == "sqlite":
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment.isoformat()


def interaction_rows(args: argparse.Namespace, owner_id: int) -> Iterator[list[tuple[Any, ...]]]:
    """The interactions in time order, chunk by chunk; every ``stride``-th belongs to the
    target customer, so its 10,000 are spread over the whole history and the table."""
    rng = random.Random(6)
    total = args.interactions
    stride = max(total // TARGET_ENTRIES, 1)
    step = HISTORY / total
    start = NOW - HISTORY
    for first in range(0, total, CHUNK):
        rows = []
        for n in range(first, min(first + CHUNK, total)):
            at = start + step * n + timedelta(microseconds=rng.randrange(1000))
            target = n % stride == 0 and n // stride < TARGET_ENTRIES
            customer = TARGET if target else rng.randrange(2, args.customers + 1)
            # an eighth of the customer's touchpoints are e-mails, the rest on every channel
            if target:
                k = n // stride
                channel = "email" if k % 8 == 0 else CHANNELS[k % len(CHANNELS)]
            else:
                channel = CHANNELS[n % len(CHANNELS)]
            email = channel == "email"
            rows.append(
                (
                    n + 1,
                    customer,
                    channel,
                    "inbound" if n % 3 == 0 else "outbound",
                    at,
                    owner_id if target else None,
                    SUBJECTS[n % len(SUBJECTS)],
                    "客户想订明前龙井五斤，答应到货后通知。" if n % 4 == 0 else "",
                    "" if email else OUTCOMES[n % len(OUTCOMES)],
                    "email_out" if email else "manual",
                    f"<m{n}@bench.example>" if email else None,
                    "buyer@tea.example.cn" if email else "",
                    at,
                    at,
                    1,
                )
            )
        yield rows


def _secondary_indexes() -> list[Index]:
    return sorted(Interaction.__table__.indexes, key=lambda i: i.name or "")  # type: ignore[attr-defined]


def load_interactions(db: Database, backend: str, args: argparse.Namespace, owner: int) -> float:
    """All interactions, secondary indexes dropped during the load and built after; seconds."""
    started = time.perf_counter()
    indexes = _secondary_indexes()
    with db.engine.begin() as connection:
        for index in indexes:
            connection.execute(text(f"DROP INDEX {index.name}"))
    raw = db.engine.raw_connection()
    cursor: Any = raw.cursor()
    loaded = 0
    if backend == "sqlite":
        cursor.execute("PRAGMA cache_size = -1000000")
        marks = ", ".join("?" * len(COLUMNS))
        for rows in interaction_rows(args, owner):
            stored = [
                (*r[:4], _stored(r[4], backend), *r[5:12], *(_stored(r[12], backend),) * 2, 1)
                for r in rows
            ]
            cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO interactions ({', '.join(COLUMNS)}) VALUES ({marks})", stored
            )
            cursor.execute("COMMIT")
            loaded += len(rows)
            _progress(loaded, args.interactions, started)
    else:
        for rows in interaction_rows(args, owner):
            buffer = io.StringIO()
            for r in rows:
                buffer.write("\t".join(_copy_value(v) for v in r))
                buffer.write("\n")
            with cursor.copy(f"COPY interactions ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            raw.commit()
            loaded += len(rows)
            _progress(loaded, args.interactions, started)
        cursor.execute("SELECT setval('interactions_id_seq', (SELECT max(id) FROM interactions))")
        raw.commit()
    raw.close()
    console.print(f"  building {len(indexes)} indexes")
    with db.engine.begin() as connection:
        for index in indexes:
            index.create(connection)
    return time.perf_counter() - started


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _progress(done: int, total: int, started: float) -> None:
    if done % 2_000_000 < CHUNK or done == total:
        rate = done / (time.perf_counter() - started)
        console.print(f"  {done:,} / {total:,} interactions ({rate:,.0f} rows/s)")


def load_store(db: Database, backend: str, args: argparse.Namespace) -> tuple[int, str, float]:
    """Customers, the owner, follow-ups, web events, orders and interactions: (owner id, API
    token of the owner, seconds the interactions took)."""
    with db.unit_of_work() as session:
        tracking.set_actor(session, AuditActor(None, "bench"))
        rep = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="bench-sales", password="p" * 12, role="sales"),
        )
        token = login.create_token(session=session, user=rep, name="bench", expires_in_days=1)
        rep_id, secret = rep.id, token.token
    for first in range(1, args.customers + 1, 20_000):
        rows = [
            {"id": n, "name": f"客户{n}", "name_key": f"客户{n}", "search_text": f"客户{n}"}
            | {"owner_id": rep_id if n == TARGET else None}
            for n in range(first, min(first + 20_000, args.customers + 1))
        ]
        with db.unit_of_work() as session:
            insert_many(session.connection(), Customer.__table__, rows)  # type: ignore[arg-type]
    rng = random.Random(8)
    with db.unit_of_work() as session:
        connection = session.connection()
        follow_ups = [
            {
                "customer_id": TARGET if n < 300 else rng.randrange(2, args.customers + 1),
                "assignee_id": rep_id,
                "created_by_id": rep_id,
                "due_at": NOW - HISTORY * rng.random() + timedelta(days=30),
                "channel": "phone",
                "subject": "回访",
                "status": rng.choice(("open", "done", "cancelled")),
            }
            for n in range(100_300)
        ]
        insert_many(connection, FollowUp.__table__, follow_ups)  # type: ignore[arg-type]
        events = []
        for visit in range(60 + 500_000 // 8):
            customer = TARGET if visit < 60 else rng.randrange(2, args.customers + 1)
            begin = NOW - HISTORY * rng.random()
            for step in range(8):
                events.append(
                    {
                        "kind": "product_view" if step % 2 else "page_view",
                        "occurred_at": begin + timedelta(minutes=step),
                        "visitor_id": f"v{customer}",
                        "session_id": f"s{visit}",
                        "customer_id": customer,
                        "url": f"https://shop.example.cn/p/{step}",
                        "product_id": step if step % 2 else None,
                        "dwell_seconds": 45,
                    }
                )
        for first in range(0, len(events), 50_000):
            insert_many(connection, WebEvent.__table__, events[first : first + 50_000])  # type: ignore[arg-type]
        orders = [
            {
                "number": f"SO-B-{n}",
                "customer_id": TARGET,
                "owner_id": rep_id,
                "status": "completed",
                "ordered_at": NOW - HISTORY * rng.random(),
                "subtotal": Decimal("100.00"),
                "total": Decimal("100.00"),
                "cost_total": Decimal("60.00"),
            }
            for n in range(40)
        ]
        insert_many(connection, Order.__table__, orders)  # type: ignore[arg-type]
    seconds = load_interactions(db, backend, args, rep_id)
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return rep_id, secret, seconds


# ---------------------------------------------------------------- measuring


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def random_cursors(db: Database, count: int) -> list[str]:
    """Cursors at random depths of the target customer's history (as "Load older" makes)."""
    rng = random.Random(9)
    with db.sessions() as session:
        rows = session.execute(
            text(
                "SELECT id, occurred_at FROM interactions WHERE customer_id = :c "
                "ORDER BY occurred_at DESC, id DESC"
            ),
            {"c": TARGET},
        ).all()
        moments = {
            row.id: session.get_one(Interaction, row.id).occurred_at
            for row in rng.sample(rows, count)
        }
    return [f"{at.isoformat()}|interaction:{i:012d}" for i, at in moments.items()]


def service_times(
    db: Database, rep_id: int, calls: list[dict[str, Any]]
) -> tuple[list[float], int]:
    """Milliseconds per ``timeline.stream`` call, each in a new session as a request has;
    and the entries the calls showed."""
    times, shown = [], 0
    for call in calls:
        started = time.perf_counter()
        with db.sessions() as session:
            actor = session.get_one(User, rep_id)
            customer = session.get_one(Customer, TARGET)
            page = timeline.stream(session, customer, actor=actor, limit=20, **call)
        times.append((time.perf_counter() - started) * 1000)
        shown += len(page.entries)
    return times, shown


@contextmanager
def serving(settings: Settings, db: Database) -> Iterator[str]:
    app = create_app(settings, database=db, embedded_worker=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def http_times(client: httpx.Client, url: str, params_list: list[dict[str, Any]]) -> list[float]:
    times = []
    for params in params_list:
        started = time.perf_counter()
        reply = client.get(url, params=params)
        times.append((time.perf_counter() - started) * 1000)
        if reply.status_code != 200:
            raise SystemExit(f"{url} {params}: {reply.status_code} {reply.text[:300]}")
    return times


def run(backend: str, args: argparse.Namespace, table: Table) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(backend, Path(tmp), "timeline") as url,
    ):
        settings = Settings(
            data_dir=Path(tmp), database_url=url, secret_key="b" * 40, embedded_worker=False
        )
        crypto.configure(settings)
        db = Database(url)
        schema.upgrade(db)
        console.print(f"[{backend}] loading {args.interactions:,} interactions")
        rep_id, token, load_seconds = load_store(db, backend, args)
        with db.engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM interactions")).scalar_one()
            own = connection.execute(
                text("SELECT count(*) FROM interactions WHERE customer_id = :c"), {"c": TARGET}
            ).scalar_one()
        table.add_row(
            backend,
            f"store: {stored:,} interactions, {own:,} of the customer's",
            f"loaded in {load_seconds:,.0f} s",
            "",
            "",
        )

        def report(label: str, times: list[float], note: str = "") -> None:
            p95 = percentile(times, 0.95)
            table.add_row(
                backend,
                label,
                f"p50 {percentile(times, 0.5):.1f} ms",
                f"p95 {p95:.1f} ms",
                note or ("target met" if p95 < 100 else "over 100 ms"),
            )

        n = args.requests
        cursors = random_cursors(db, n)
        service_times(db, rep_id, [{}] * 10)  # warm up
        cases: list[tuple[str, list[dict[str, Any]]]] = [
            ("first page, everything", [{}] * n),
            ("first page, channel phone", [{"channel": "phone"}] * n),
            ("first page, kind interactions", [{"kind": "interactions"}] * n),
            ("random depth, everything", [{"cursor": c} for c in cursors]),
            ("random depth, channel phone", [{"cursor": c, "channel": "phone"} for c in cursors]),
        ]
        for label, calls in cases:
            times, shown = service_times(db, rep_id, calls)
            report(f"service timeline.stream: {label}", times, f"{shown / len(calls):.0f}/page")
        api = f"/api/v1/customers/{TARGET}/timeline"
        headers = {"Authorization": f"Bearer {token}"}
        with (
            serving(settings, db) as base,
            httpx.Client(base_url=base, headers=headers, timeout=60) as client,
        ):
            http_times(client, api, [{}] * 10)
            for label, params in (
                ("first page", [{}] * n),
                ("first page, channel phone", [{"channel": "phone"}] * n),
                ("random depth", [{"cursor": c} for c in cursors]),
            ):
                report(f"HTTP API {api}: {label}", http_times(client, api, params))
            page = f"/customers/{TARGET}"
            probe = client.get(page)
            if probe.status_code != 200:
                table.add_row(backend, f"HTTP page {page}", f"answered {probe.status_code}", "", "")
            else:
                for label, params in (
                    ("first page", [{}] * n),
                    ("channel phone", [{"channel": "phone"}] * n),
                    ("random depth (Load older)", [{"before": c} for c in cursors]),
                ):
                    report(
                        f"HTTP page {page} (whole 360 page): {label}",
                        http_times(client, page, params),
                    )
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    args = parser.parse_args()
    table = Table(title=f"Guanxi customer timeline among {args.interactions:,} interactions")
    for column in ("store", "measure", "Guanxi", "p95", "note"):
        table.add_column(column)
    for backend in args.backend or backends():
        run(backend, args, table)
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
