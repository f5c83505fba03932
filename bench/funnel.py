"""Funnel report benchmark at a million opportunities with history (issue 4).

On SQLite, and on PostgreSQL when GUANXI_BENCH_POSTGRES_URL (or GUANXI_TEST_POSTGRES_URL) is set:
fills a scratch store with N opportunities created over three years, each with its stage history
(about 3-4 history rows each: created at lead, moved on with a chance to win or lose at every stage,
days in stage drawn from an exponential; recent ones still open), bulk-inserted with
``guanxi.bulk.insert_many``; then times ``funnel()``, ``win_rates()`` (by owner) and ``forecast()``
(six months) for the last year, as an administrator (no visibility filter) and as a team manager
(team visibility: half the reps), the median of ``--runs`` runs after one warm-up.

Target from the issue: the funnel report under 2 s.

    python bench/funnel.py [--opportunities 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text
from stores import backends, scratch_database

from guanxi import crypto, schema
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.bulk import insert_many
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database
from guanxi.sales.funnel import service
from guanxi.sales.labels import OPPORTUNITY_SOURCE_LABELS
from guanxi.sales.models import (
    Opportunity,
    OpportunityStageChange,
    PipelineStage,
    Product,
    seconds_between,
)

console = Console(width=None if sys.stdout.isatty() else 150)

NOW = datetime.now(UTC).replace(microsecond=0)
SPAN_DAYS = 3 * 365
CHUNK = 50_000
REPS_PER_TEAM = 10
# chance of moving on from each open stage (the rest are lost there), and mean days spent in it
ONWARD = {"lead": 0.55, "qualified": 0.7, "proposal": 0.6, "negotiation": 0.65}
MEAN_DAYS = {"lead": 6.0, "qualified": 10.0, "proposal": 14.0, "negotiation": 12.0}
SOURCES = list(OPPORTUNITY_SOURCE_LABELS)
SOURCE_WEIGHTS = [12, 30, 15, 8, 10, 8, 15, 2]


class Fixture:
    """Who and what the opportunities point at."""

    def __init__(self, db: Database) -> None:
        with db.unit_of_work() as session:
            tracking.set_actor(session, AuditActor(None, "bench"))
            self.admin_id = auth_service.create_user(
                session=session,
                user_in=UserCreate(username="bench-admin", password="p" * 12, role="admin"),
            ).id
            self.reps: list[tuple[int, int]] = []
            self.manager_id = 0
            for team_name in ("East", "West"):
                team = auth_service.create_team(session=session, team_in=TeamCreate(name=team_name))
                if team_name == "East":
                    self.manager_id = auth_service.create_user(
                        session=session,
                        user_in=UserCreate(
                            username="bench-manager",
                            password="p" * 12,
                            role="manager",
                            team_id=team.id,
                        ),
                    ).id
                for n in range(REPS_PER_TEAM):
                    rep = auth_service.create_user(
                        session=session,
                        user_in=UserCreate(
                            username=f"rep-{team_name}-{n}",
                            password="p" * 12,
                            role="sales",
                            team_id=team.id,
                        ),
                    )
                    self.reps.append((rep.id, team.id))
            admin = session.get(User, self.admin_id)
            assert admin is not None
            self.customers = [
                customer_service.create(
                    session=session, actor=admin, customer_in=CustomerCreate(name=f"客户{n}")
                ).id
                for n in range(50)
            ]
            products = [Product(sku=f"B-{n}", name=f"产品{n}") for n in range(60)]
            session.add_all(products)
            session.flush()
            self.products: list[int | None] = [p.id for p in products]
            stages = session.scalars(select(PipelineStage).order_by(PipelineStage.position))
            self.stages = {s.key: (s.id, s.position, s.probability) for s in stages}


def _opportunity(
    rng: random.Random, number: int, fx: Fixture
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    stages = fx.stages
    created = NOW - timedelta(seconds=rng.uniform(0, SPAN_DAYS * 86400))
    path = [("lead", created)]
    when, final = created, "lead"
    for key in ("lead", "qualified", "proposal", "negotiation"):
        when = when + timedelta(days=rng.expovariate(1 / MEAN_DAYS[key]))
        if when > NOW:
            break  # still open in this stage
        final = (
            {"lead": "qualified", "qualified": "proposal", "proposal": "negotiation"}.get(
                key, "won"
            )
            if rng.random() < ONWARD[key]
            else "lost"
        )
        path.append((final, when))
        if final == "lost":
            break
    final_id, _, probability = stages[final]
    open_positions = [stages[k][1] for k, _ in path if k not in ("won", "lost")]
    furthest = stages["negotiation"][1] if final == "won" else max(open_positions)
    last_at = path[-1][1]
    owner_id, team_id = fx.reps[rng.randrange(len(fx.reps))]
    cents = int(rng.lognormvariate(11.5, 1.0))  # median about 1,000 yuan
    row = {
        "id": number,
        "customer_id": fx.customers[number % len(fx.customers)],
        "title": f"机会 {number}",
        "amount": Decimal(cents).scaleb(-2),
        "expected_close_date": (created + timedelta(days=rng.randint(20, 150))).date(),
        "probability": probability,
        "stage_id": final_id,
        "source": rng.choices(SOURCES, SOURCE_WEIGHTS)[0],
        "product_id": None if rng.random() < 0.1 else rng.choice(fx.products),
        "owner_id": owner_id,
        "team_id": team_id,
        "stage_changed_at": last_at,
        "furthest_stage_position": furthest,
        "closed_at": last_at if final in ("won", "lost") else None,
        "created_at": created,
        "updated_at": last_at,
    }
    changes = []
    previous: tuple[str, datetime] | None = None
    for key, at in path:
        changes.append(
            {
                "opportunity_id": number,
                "from_stage_id": stages[previous[0]][0] if previous else None,
                "to_stage_id": stages[key][0],
                "changed_by_id": owner_id,
                "changed_at": at,
                "from_stage_entered_at": previous[1] if previous else None,
                "seconds_in_stage": seconds_between(previous[1], at) if previous else None,
            }
        )
        previous = (key, at)
    return row, changes


def fill(db: Database, fx: Fixture, count: int) -> tuple[int, float]:
    """Bulk-insert ``count`` opportunities with their history; returns history rows and seconds."""
    rng = random.Random(11)
    history = 0
    started = time.perf_counter()
    for start in range(1, count + 1, CHUNK):
        rows, changes = [], []
        for number in range(start, min(start + CHUNK, count + 1)):
            row, moves = _opportunity(rng, number, fx)
            rows.append(row)
            changes.extend(moves)
        with db.engine.begin() as connection:
            insert_many(connection, Opportunity.__table__, rows)  # type: ignore[arg-type]
            insert_many(connection, OpportunityStageChange.__table__, changes)  # type: ignore[arg-type]
        history += len(changes)
        console.print(f"  {min(start + CHUNK - 1, count):,} opportunities", end="\r")
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("SELECT setval('opportunities_id_seq', :n)"), {"n": count})
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return history, time.perf_counter() - started


def timed(db: Database, user_id: int, work: Callable[[Any, User], object], runs: int) -> float:
    """Median milliseconds of ``work`` in a fresh read-only unit of work, after one warm-up."""
    times = []
    for attempt in range(runs + 1):
        with db.sessions() as session:
            actor = session.get(User, user_id)
            assert actor is not None
            started = time.perf_counter()
            work(session, actor)
            if attempt:
                times.append((time.perf_counter() - started) * 1000)
            session.rollback()
    return statistics.median(times)


def run(backend: str, args: argparse.Namespace, table: Table) -> None:
    with tempfile.TemporaryDirectory() as tmp, scratch_database(backend, Path(tmp)) as url:
        crypto.configure(Settings(data_dir=Path(tmp), database_url=url, secret_key="b" * 40))
        db = Database(url)
        schema.upgrade(db)
        fx = Fixture(db)
        console.print(f"[{backend}] filling {args.opportunities:,} opportunities")
        history, seconds = fill(db, fx, args.opportunities)
        table.add_row(
            backend,
            f"fill: {args.opportunities:,} opportunities + {history:,} history rows",
            f"{seconds:.0f} s",
            f"{(args.opportunities + history) / seconds:,.0f} rows/s",
        )
        end = NOW.date()
        period = {"period_start": end - timedelta(days=364), "period_end": end}
        works: dict[str, Callable[[Any, User], object]] = {
            "funnel()": lambda s, a: service.funnel(session=s, actor=a, **period),
            "win_rates(by=owner)": lambda s, a: service.win_rates(
                session=s, actor=a, by="owner", **period
            ),
            "win_rates(by=product)": lambda s, a: service.win_rates(
                session=s, actor=a, by="product", **period
            ),
            "forecast(months=6)": lambda s, a: service.forecast(session=s, actor=a, months=6),
        }
        with db.sessions() as session:
            admin = session.get(User, fx.admin_id)
            report = service.funnel(session=session, actor=admin, **period)  # type: ignore[arg-type]
            cohort = f"cohort {report.created:,}, won {report.won:,}, lost {report.lost:,}"
        for who, user_id in (("admin", fx.admin_id), ("manager", fx.manager_id)):
            total = 0.0
            for label, work in works.items():
                ms = timed(db, user_id, work, args.runs)
                total += ms
                table.add_row(backend, f"{label}, one year, as {who}", f"{ms:,.0f} ms", cohort)
            table.add_row(backend, f"whole page's queries, as {who}", f"{total:,.0f} ms", "")
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    table = Table(title=f"Guanxi funnel report at {args.opportunities:,} opportunities")
    for column in ("store", "measure", "median", "note"):
        table.add_column(column)
    for backend in backends():
        run(backend, args, table)
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
