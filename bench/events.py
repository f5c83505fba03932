"""Web event ingestion benchmark (issue 6): events per second through ``POST /api/v1/events``
beside the raw insert floor, measured in the same run.

On SQLite, and on PostgreSQL when GUANXI_BENCH_POSTGRES_URL (or GUANXI_TEST_POSTGRES_URL) is set:

1. a store with 1,000 customers and 1,000 visitors linked to them (so the ingestion's visitor
   lookup finds some), and an ingest key;
2. the events: ``--events`` page and product views (a third product views) from 20,000 visitors in
   batches of ``--per-request``, as JSON the way the snippet sends it, encoded before timing;
3. the floor: the same rows, already in their stored form, written with nothing in between —
   the driver's ``executemany`` of one INSERT on SQLite, ``COPY`` on PostgreSQL — one
   transaction per batch; then the table is emptied again;
4. for reference, without HTTP: the batch parser alone, and parser + ``events.ingest`` + commit
   in this process, one batch at a time;
5. Guanxi: ``guanxi serve`` started in its own process on loopback (one uvicorn worker, as
   shipped), and ``--clients`` client threads posting the batches with the public ingest key
   over HTTP (httpx): key check, JSON parsing and validation of every event, visitor links,
   the multi-row insert, the audit entry per batch and the commit. Every reply must be 202 and
   the table must hold every event afterwards.

Figures are events per second for both and the ratio floor / Guanxi, with the request latency
(p50/p95).

Target from the issue: 20,000 events/s through the API on two cores.

    python bench/events.py [--events 500000] [--per-request 5000] [--clients 3]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, func, select
from stores import backends, postgres_url, scratch_database

from guanxi import schema
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.bulk import insert_many
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.interactions.events import ingest_settings as events_settings
from guanxi.interactions.events import service as events
from guanxi.interactions.events.schemas import parse_batch
from guanxi.interactions.models import VisitorLink, WebEvent

console = Console()
CUSTOMERS = 1000
VISITORS = 20_000
START = datetime(2026, 11, 1, tzinfo=UTC)
COLUMNS = (
    "kind",
    "occurred_at",
    "received_at",
    "visitor_id",
    "session_id",
    "customer_id",
    "url",
    "title",
    "referrer",
    "product_id",
    "product_sku",
    "dwell_seconds",
)


# ---------------------------------------------------------------- the store and the events


def load_store(db: Database) -> str:
    """Customers, linked visitors and an ingest key; the key."""
    with db.unit_of_work() as session:
        tracking.set_actor(session, AuditActor(None, "bench"))
        admin = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="bench-admin", password="p" * 12, role="admin"),
        )
        admin_id = admin.id
        key = events_settings.rotate_key(session)
    with db.unit_of_work() as session:
        customers = [
            {
                "id": n,
                "name": f"客户{n}",
                "name_key": f"客户{n}",
                "external_id": f"c-{n}",
                "search_text": f"客户{n}",
                "owner_id": admin_id,
            }
            for n in range(1, CUSTOMERS + 1)
        ]
        insert_many(session.connection(), Customer.__table__, customers)
        links = [
            {"visitor_id": f"visitor-{n:06d}", "customer_id": n, "linked_at": START}
            for n in range(1, CUSTOMERS + 1)
        ]
        insert_many(session.connection(), VisitorLink.__table__, links)
    return key


def batches(total: int, per_request: int) -> list[list[dict[str, Any]]]:
    """The events as the snippet sends them, seeded: visitors browse in sessions of a few
    pages, a third of the views are product views."""
    rng = random.Random(6)
    made: list[list[dict[str, Any]]] = []
    moment = START
    for start in range(0, total, per_request):
        batch = []
        for n in range(start, min(start + per_request, total)):
            visitor = rng.randrange(1, VISITORS + 1)
            moment += timedelta(milliseconds=rng.randrange(1, 400))
            event: dict[str, Any] = {
                "occurred_at": moment.isoformat().replace("+00:00", "Z"),
                "visitor_id": f"visitor-{visitor:06d}",
                "session_id": f"s-{visitor:06d}-{n // 50_000}",
                "title": "青山茶业 - 西湖龙井 明前特级 250g",
                "referrer": "https://shop.example.cn/category/green-tea?page=2",
                "dwell_seconds": rng.randrange(0, 300),
            }
            if n % 3 == 0:
                product = rng.randrange(1, 5000)
                event |= {
                    "kind": "product_view",
                    "url": f"https://shop.example.cn/p/{product}",
                    "product_id": product,
                    "product_sku": f"TEA-{product:05d}",
                }
            else:
                event |= {
                    "kind": "page_view",
                    "url": f"https://shop.example.cn/category/{rng.randrange(1, 40)}?sort=new",
                }
            batch.append(event)
        made.append(batch)
    return made


def stored_form(batch: list[dict[str, Any]], links: dict[str, int]) -> list[tuple[Any, ...]]:
    """The rows the API will store for a batch (not timed): the floor writes exactly these."""
    received = datetime.now(UTC)
    rows = []
    for event in batch:
        at = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        rows.append(
            (
                event["kind"],
                at,
                received,
                event["visitor_id"],
                event["session_id"],
                links.get(event["visitor_id"]),
                event["url"],
                event["title"],
                event["referrer"],
                event.get("product_id"),
                event.get("product_sku", ""),
                event["dwell_seconds"],
            )
        )
    return rows


# ---------------------------------------------------------------- the floor


def floor_rate(db: Database, backend: str, rows_per_batch: list[list[tuple[Any, ...]]]) -> float:
    """Events per second written by the driver alone, one transaction per batch."""
    names = ", ".join(COLUMNS)
    raw: Any = db.engine.raw_connection()
    try:
        if backend == "sqlite":
            # the SQLite column type stores naive UTC text, as the app's type does
            prepared = [
                [(*r[:1], _sqlite_time(r[1]), _sqlite_time(r[2]), *r[3:]) for r in rows]
                for rows in rows_per_batch
            ]
            sql = f"INSERT INTO web_events ({names}) VALUES ({', '.join('?' * len(COLUMNS))})"
            started = time.perf_counter()
            for rows in prepared:
                cursor = raw.cursor()
                cursor.execute("BEGIN")
                cursor.executemany(sql, rows)
                cursor.execute("COMMIT")
            elapsed = time.perf_counter() - started
        else:
            started = time.perf_counter()
            for rows in rows_per_batch:
                with (
                    raw.cursor() as cursor,
                    cursor.copy(f"COPY web_events ({names}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                raw.commit()
            elapsed = time.perf_counter() - started
    finally:
        raw.close()
    written = sum(len(rows) for rows in rows_per_batch)
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(WebEvent)) == written
        session.execute(delete(WebEvent))
    return written / elapsed


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


# ---------------------------------------------------------------- Guanxi over HTTP


def start_server(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "GUANXI_DATABASE_URL": url,
        "GUANXI_SECRET_KEY": "bench-secret-key-that-is-long-enough-for-guanxi",
        "GUANXI_DATA_DIR": str(data_dir),
        "GUANXI_EMBEDDED_WORKER": "false",
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "guanxi", "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "server.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"guanxi serve did not start; see {data_dir / 'server.log'}")
        time.sleep(0.2)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_rate(
    base: str, key: str, bodies: list[bytes], sizes: list[int], clients: int
) -> tuple[float, list[float]]:
    """Events per second over HTTP with ``clients`` concurrent posters; request latencies."""
    pending: queue.Queue[int] = queue.Queue()
    for index in range(len(bodies)):
        pending.put(index)
    latencies: list[float] = []
    failures: list[str] = []
    headers = {"X-Guanxi-Ingest-Key": key, "Content-Type": "application/json"}

    def poster() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            while True:
                try:
                    index = pending.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                reply = client.post("/api/v1/events", content=bodies[index])
                latencies.append((time.perf_counter() - started) * 1000)
                if reply.status_code != 202 or reply.json()["accepted"] != sizes[index]:
                    failures.append(f"{reply.status_code} {reply.text[:200]}")

    threads = [threading.Thread(target=poster) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} batches refused, first: {failures[0]}")
    return sum(sizes) / elapsed, latencies


def parse_rate(bodies: list[bytes], sizes: list[int]) -> float:
    started = time.perf_counter()
    for body in bodies:
        parse_batch(body)
    return sum(sizes) / (time.perf_counter() - started)


def service_rate(db: Database, bodies: list[bytes], sizes: list[int]) -> float:
    """Events per second through parsing and ``events.ingest`` in this process, one unit of
    work per batch, without HTTP; the table is emptied afterwards."""
    started = time.perf_counter()
    for body in bodies:
        with db.unit_of_work() as session:
            tracking.set_actor(session, AuditActor(None, "bench"))
            events.ingest(session, events=parse_batch(body), actor=None)
    elapsed = time.perf_counter() - started
    with db.unit_of_work() as session:
        session.execute(delete(WebEvent))
    return sum(sizes) / elapsed


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share * 100) - 1]


def run(backend: str, args: argparse.Namespace, table: Table) -> None:
    with tempfile.TemporaryDirectory() as tmp, scratch_database(backend, Path(tmp)) as url:
        db = Database(url)
        schema.upgrade(db)
        key = load_store(db)
        made = batches(args.events, args.per_request)
        sizes = [len(batch) for batch in made]
        bodies = [json.dumps({"events": batch}, ensure_ascii=False).encode() for batch in made]
        links = {f"visitor-{n:06d}": n for n in range(1, CUSTOMERS + 1)}
        floor = floor_rate(db, backend, [stored_form(batch, links) for batch in made])
        parsed = parse_rate(bodies, sizes)
        in_process = service_rate(db, bodies, sizes)
        process, base = start_server(url, Path(tmp))
        try:
            # one small batch first: the server's imports, pools and caches warm up
            warm = json.dumps({"events": made[0][:10]}).encode()
            with httpx.Client(base_url=base) as client:
                reply = client.post(
                    "/api/v1/events", content=warm, headers={"X-Guanxi-Ingest-Key": key}
                )
                assert reply.status_code == 202, reply.text
            rate, latencies = api_rate(base, key, bodies, sizes, args.clients)
        finally:
            process.terminate()
            process.wait(timeout=30)
        with db.sessions() as session:
            stored = session.scalar(select(func.count()).select_from(WebEvent))
            linked = session.scalar(
                select(func.count()).select_from(WebEvent).where(WebEvent.customer_id.isnot(None))
            )
        db.dispose()
        assert stored == args.events + 10, (stored, args.events)
        table.add_row(
            backend,
            f"{args.events:,} events, {args.per_request:,}/request, {args.clients} clients",
            f"{rate:,.0f} events/s",
            f"{floor:,.0f} events/s",
            f"{floor / rate:.1f}x",
            f"p50 {percentile(latencies, 0.5):,.0f} ms, p95 {percentile(latencies, 0.95):,.0f} ms",
        )
        console.print(
            f"{backend}: {stored:,} stored, {linked:,} linked to customers; without HTTP, in "
            f"this process: parser alone {parsed:,.0f} events/s, parser + events.ingest + "
            f"commit {in_process:,.0f} events/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--per-request", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args()
    table = Table(title="Web event ingestion")
    for column in ("store", "run", "Guanxi (HTTP API)", "floor (same run)", "ratio", "request"):
        table.add_column(column)
    if not postgres_url():
        console.print("[yellow]no GUANXI_BENCH_POSTGRES_URL: PostgreSQL skipped[/yellow]")
    for backend in backends():
        console.print(f"running on {backend}...")
        run(backend, args, table)
    console.print(table)


if __name__ == "__main__":
    main()
