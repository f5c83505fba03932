"""Foundation benchmark: the cost of the audit chain and of the request path.

Runs on SQLite, and on PostgreSQL when GUANXI_BENCH_POSTGRES_URL (or GUANXI_TEST_POSTGRES_URL)
points at a server where databases can be created. Each figure is printed beside its floor,
measured in the same run:

- audited writes: one team created per transaction through the service (ORM, audit listener,
  hash chain) beside a raw single-row INSERT per transaction;
- audit verification: entries checked per second by `guanxi audit verify`'s walk;
- API reads: p50/p95 of `GET /api/v1/users?limit=50` with a bearer token through a real uvicorn
  server, beside `GET /api/v1/health` (one SELECT 1) on the same server.

    python bench/foundation.py [--writes 2000] [--audit-rows 100000] [--requests 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from stores import backends, postgres_url, scratch_database

from guanxi import schema
from guanxi.app import create_app
from guanxi.audit import chain, tracking
from guanxi.audit.chain import AuditActor, PendingEntry
from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.config import Settings
from guanxi.db import Database

console = Console()


def audited_writes(db: Database, count: int) -> float:
    started = time.perf_counter()
    for number in range(count):
        with db.unit_of_work() as session:
            tracking.set_actor(session, AuditActor(None, "bench"))
            auth_service.create_team(session=session, team_in=TeamCreate(name=f"team-{number}"))
    return count / (time.perf_counter() - started)


def raw_writes(db: Database, count: int) -> float:
    insert = text(
        "INSERT INTO teams (name, description, parent_id, created_at, updated_at, version) "
        "VALUES (:name, '', NULL, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
    )
    started = time.perf_counter()
    for number in range(count):
        with db.engine.begin() as connection:
            connection.execute(insert, {"name": f"raw-{number}"})
    return count / (time.perf_counter() - started)


def audit_verify_rate(db: Database, rows: int) -> tuple[float, float]:
    """(entries appended per second in batches of 1000, entries verified per second)."""
    entries = [
        PendingEntry("update", "bench", str(n), {"field": {"before": n, "after": n + 1}})
        for n in range(1000)
    ]
    started = time.perf_counter()
    for _ in range(rows // 1000):
        with db.engine.begin() as connection:
            chain.append(connection, AuditActor(None, "bench"), entries)
    appended = rows / (time.perf_counter() - started)
    started = time.perf_counter()
    with db.engine.connect() as connection:
        report = chain.verify(connection)
    assert report.intact, report.problem
    return appended, report.checked / (time.perf_counter() - started)


def api_latency(url: str, data_dir: Path, requests: int) -> tuple[list[float], list[float]]:
    settings = Settings(
        data_dir=data_dir, database_url=url, secret_key="b" * 40, embedded_worker=False
    )
    db = Database(url)
    with db.unit_of_work() as session:
        admin = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="bench-admin", password="p" * 12, role="admin"),
        )
        for number in range(200):
            auth_service.create_user(
                session=session,
                user_in=UserCreate(username=f"user-{number}", password="p" * 12, role="sales"),
            )
        token = login.create_token(
            session=session, user=admin, name="bench", expires_in_days=1
        ).token
    app = create_app(settings, database=db, embedded_worker=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    users, health = [], []
    with httpx.Client(base_url=base, headers=headers) as client:
        for _ in range(20):  # warm up
            client.get("/api/v1/users?limit=50")
        for _ in range(requests):
            started = time.perf_counter()
            assert client.get("/api/v1/users?limit=50").status_code == 200
            users.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            assert client.get("/api/v1/health").status_code == 200
            health.append((time.perf_counter() - started) * 1000)
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()
    return users, health


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share * 100) - 1]


def run(backend: str, args: argparse.Namespace, table: Table) -> None:
    with tempfile.TemporaryDirectory() as tmp, scratch_database(backend, Path(tmp)) as url:
        db = Database(url)
        schema.upgrade(db)
        audited = audited_writes(db, args.writes)
        raw = raw_writes(db, args.writes)
        table.add_row(
            backend,
            "audited writes (1 row/transaction)",
            f"{audited:,.0f} rows/s",
            f"raw INSERT {raw:,.0f} rows/s",
            f"{raw / audited:.1f}x",
        )
        appended, verified = audit_verify_rate(db, args.audit_rows)
        table.add_row(
            backend,
            f"audit append ({args.audit_rows:,} entries)",
            f"{appended:,.0f} entries/s",
            "",
            "",
        )
        table.add_row(backend, "audit verify", f"{verified:,.0f} entries/s", "", "")
        db.dispose()
        users, health = api_latency(url, Path(tmp), args.requests)
        table.add_row(
            backend,
            "GET /api/v1/users?limit=50",
            f"p50 {percentile(users, 0.5):.1f} ms, p95 {percentile(users, 0.95):.1f} ms",
            f"health p50 {percentile(health, 0.5):.1f} ms, p95 {percentile(health, 0.95):.1f} ms",
            "",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--audit-rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    table = Table(title="Guanxi foundation benchmark")
    for column in ("store", "measure", "Guanxi", "floor (same run)", "ratio"):
        table.add_column(column)
    chosen = backends()
    if not postgres_url():
        console.print("[yellow]no GUANXI_BENCH_POSTGRES_URL: PostgreSQL skipped[/yellow]")
    for backend in chosen:
        console.print(f"running on {backend}...")
        run(backend, args, table)
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
