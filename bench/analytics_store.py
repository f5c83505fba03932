"""``guanxi analyze`` benchmark (issue 5): a whole scoring run on a store of a million customers,
timed end to end with its peak memory and per step, beside a DuckDB floor.

1. Builds a store (SQLite under bench/results/analytics_store/, kept so that reruns skip building;
   PostgreSQL too when GUANXI_BENCH_POSTGRES_URL is set, in a database ``guanxi_bench_analyze_N``
   kept on that server): N customers (default 1,000,000), 2,000 products in 40 categories, and
   the orders of two years (2024-01-01 to 2025-12-31) drawn from the BG/NBD + Gamma-Gamma process
   (``guanxi.analytics.clv.simulate_transactions``, r=0.5, alpha=16 days, a=0.5, b=3, p=6, q=4,
   v=15: about 6.4 orders per customer). Each order has 1-3 lines (1.7 on average); a customer
   buys in a favourite category 70% of the time, popular products more often within a category,
   so that item similarity has something to find. Rows go in with core bulk inserts
   (``executemany`` in large transactions on SQLite, ``COPY ... CSV`` from Arrow on PostgreSQL),
   not through the API: building is not what is measured.
2. Exports the store's transactions (as ``guanxi analyze`` reads them) once to Parquet.
3. Runs, each as its own process under ``flock /tmp/bench.lock`` (so that no two benchmarks time
   at once) and ``/usr/bin/time`` (seconds, peak resident memory): ``guanxi analyze --end
   2025-12-31 --timings`` per engine, on a fresh copy of the store; and the floor, a DuckDB scan
   of the Parquet transactions that only computes the per-customer summary.
4. Prints per run: seconds, peak MiB, the time of each step, and the run's figures (customers
   scored, transactions, Gini, top-20% share, customer equity, rows written).

    python bench/analytics_store.py [--customers 1000000] [--engine duckdb --engine spark]
                                    [--backend sqlite|postgresql] [--rebuild]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from store_data import build_postgres, build_sqlite
from stores import postgres_url

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "analytics_store"
END = dt.date(2025, 12, 31)
SECRET = "b" * 40
console = Console(width=120)

FLOOR_SCRIPT = r"""
import sys, duckdb
con = duckdb.connect()
rows = con.execute('''
WITH days AS (
  SELECT customer_id, CAST(ts AS DATE) AS day, sum(amount) AS amount, sum(cost) AS cost
  FROM read_parquet(?) WHERE CAST(ts AS DATE) <= DATE '2025-12-31' GROUP BY ALL
), firsts AS (
  SELECT customer_id, min(day) AS first_day FROM days GROUP BY ALL
)
SELECT d.customer_id, count(*) - 1 AS frequency,
       date_diff('day', min(f.first_day), max(d.day)) AS recency,
       date_diff('day', min(f.first_day), DATE '2025-12-31') AS T,
       coalesce(avg(d.amount) FILTER (WHERE d.day > f.first_day), 0) AS monetary_value,
       sum(d.amount) AS revenue, sum(d.amount) - sum(d.cost) AS margin
FROM days d JOIN firsts f USING (customer_id) GROUP BY d.customer_id
''', [sys.argv[1]]).to_arrow_table()
print(rows.num_rows)
"""


def timed(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command`` under the shared benchmark lock; its output, seconds and peak MiB."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as times:
        lock = ["flock", "/tmp/bench.lock"]  # noqa: S108 - the lock every benchmark shares
        clock = ["/usr/bin/time", "-o", times.name, "-f", "%e %M"]
        done = subprocess.run(  # noqa: S603 - our own commands
            [*lock, *clock, *command], capture_output=True, text=True, env=env, check=False
        )
        measured = times.read().split()
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return {
        "seconds": float(measured[-2]),
        "mib": int(measured[-1]) / 1024,
        "stdout": done.stdout,
    }


def step_timings(output: str) -> list[tuple[str, float]]:
    """The rows of the ``Step timings`` table that ``guanxi analyze --timings`` prints."""
    part = output.split("Step timings", 1)[-1].split("Scoring run", 1)[0]
    rows = []
    for line in part.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃|]", line) if cell.strip()]
        if len(cells) == 2 and re.fullmatch(r"[\d.]+", cells[1]):
            rows.append((cells[0], float(cells[1])))
    return rows


def run_figures(url: str) -> dict[str, Any]:
    """What the newest run wrote: its counts and diagnostics, and the rows of its results."""
    engine = create_engine(url)
    with engine.connect() as connection:
        run = connection.execute(
            text(
                "SELECT id, customers_scored, transactions, diagnostics FROM analysis_runs "
                "ORDER BY id DESC LIMIT 1"
            )
        ).one()
        counts = {
            table: connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE run_id = :run"),
                {"run": run.id},
            ).scalar_one()
            for table in ("customer_scores", "customer_recommendations", "similar_customers")
        }
    engine.dispose()
    diagnostics = run.diagnostics
    if isinstance(diagnostics, str):
        diagnostics = json.loads(diagnostics)
    return {
        "customers_scored": run.customers_scored,
        "transactions": run.transactions,
        "diagnostics": diagnostics,
        **counts,
    }


def fresh_store(backend: str, customers: int, pristine: str) -> str:
    """A store URL with no earlier scoring runs in it (not timed)."""
    if backend == "sqlite":
        work = RESULTS / f"work-{customers}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(pristine, work)
        return f"sqlite:///{work}"
    engine = create_engine(pristine)
    with engine.begin() as connection:
        for table in (
            "customer_recommendations",
            "similar_customers",
            "customer_scores",
            "analysis_reports",
            "analysis_runs",
        ):
            connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    return pristine


def analyze(url: str, engine: str, data_dir: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "GUANXI_DATABASE_URL": url,
        "GUANXI_SECRET_KEY": SECRET,
        "GUANXI_DATA_DIR": str(data_dir),
        "GUANXI_EMBEDDED_WORKER": "false",
        "COLUMNS": "120",
    }
    guanxi = shutil.which("guanxi") or "guanxi"
    command = [guanxi, "analyze", "--end", END.isoformat(), "--engine", engine, "--timings"]
    result = timed(command, env)
    return {**result, "steps": step_timings(result["stdout"]), **run_figures(url)}


def floor(parquet: Path) -> dict[str, Any]:
    return timed([sys.executable, "-c", FLOOR_SCRIPT, str(parquet)])


def export_transactions(url: str, parquet: Path) -> int:
    """The transactions exactly as a scoring run reads them, once, for the floor."""
    import pyarrow.parquet as pq

    from guanxi.analytics import sources

    if not parquet.exists():
        engine = create_engine(url)
        table = sources.transactions(engine, timezone="Asia/Shanghai")
        engine.dispose()
        pq.write_table(table, parquet)
    return pq.ParquetFile(parquet).metadata.num_rows


def report(label: str, customers: int, results: dict[str, dict[str, Any]], floor_run: dict) -> None:
    table = Table(title=f"guanxi analyze, {label}, {customers:,} customers")
    table.add_column("measure")
    for name in results:
        table.add_column(name, justify="right")
    table.add_column("floor: DuckDB summary scan", justify="right")
    table.add_row(
        "end to end, s",
        *(f"{r['seconds']:.1f}" for r in results.values()),
        f"{floor_run['seconds']:.1f}",
    )
    table.add_row(
        "peak memory, MiB",
        *(f"{r['mib']:,.0f}" for r in results.values()),
        f"{floor_run['mib']:,.0f}",
    )
    steps = list(dict.fromkeys(s for r in results.values() for s, _ in r["steps"]))
    for step in steps:
        table.add_row(
            f"  {step}, s",
            *(f"{dict(r['steps']).get(step, float('nan')):.1f}" for r in results.values()),
            "",
        )
    for key, label_ in (
        ("customers_scored", "customers scored"),
        ("transactions", "transactions"),
        ("customer_scores", "score rows written"),
        ("customer_recommendations", "recommendation rows"),
        ("similar_customers", "similar-customer rows"),
    ):
        table.add_row(label_, *(f"{r[key]:,}" for r in results.values()), "")
    for key, label_, fmt in (
        ("gini", "Gini of profit", "{:.3f}"),
        ("top_20_share", "profit share of top 20%", "{:.3f}"),
        ("customer_equity", "customer equity", "{:,.0f}"),
        ("churn_auc", "churn model AUC", "{:.3f}"),
    ):
        values = [r["diagnostics"].get(key) for r in results.values()]
        table.add_row(label_, *("-" if v is None else fmt.format(v) for v in values), "")
    table.add_row(
        "BG/NBD r, alpha, a, b",
        *(
            ", ".join(f"{r['diagnostics']['bgnbd'][k]:.3g}" for k in ("r", "alpha", "a", "b"))
            for r in results.values()
        ),
        "",
    )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=("duckdb", "spark"), action="append")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    engines = args.engine or ["duckdb"]
    backends = args.backend or (["sqlite", "postgresql"] if postgres_url() else ["sqlite"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    n = args.customers
    for backend in backends:
        if backend == "sqlite":
            pristine_path = RESULTS / f"store-{n}.sqlite3"
            if args.rebuild or not pristine_path.exists():
                console.print(f"[sqlite] building a store of {n:,} customers")
                build_sqlite(pristine_path, n, SECRET, console)
            pristine = str(pristine_path)
            read_url = f"sqlite:///{pristine_path}"
        else:
            base = make_url(postgres_url()).set(drivername="postgresql+psycopg")
            read_url = base.set(database=f"guanxi_bench_analyze_{n}").render_as_string(
                hide_password=False
            )
            console.print(f"[postgresql] store of {n:,} customers in {read_url}")
            build_postgres(base, f"guanxi_bench_analyze_{n}", n, SECRET, console, args.rebuild)
            pristine = read_url
        if args.build_only:
            continue
        parquet = RESULTS / f"transactions-{n}.parquet"
        rows = export_transactions(read_url, parquet)
        console.print(f"[{backend}] {rows:,} transactions; floor run")
        floor_run = floor(parquet)
        results = {}
        with tempfile.TemporaryDirectory() as data_dir:
            for engine in engines:
                url = fresh_store(backend, n, pristine)
                console.print(f"[{backend}] guanxi analyze --engine {engine}")
                results[engine] = analyze(url, engine, Path(data_dir))
                console.print(results[engine]["stdout"][-2500:])
        report(backend, n, results, floor_run)
        out = RESULTS / f"figures-{backend}-{n}.json"
        out.write_text(
            json.dumps(
                {
                    "floor": {k: v for k, v in floor_run.items() if k != "stdout"},
                    **{
                        e: {k: v for k, v in r.items() if k != "stdout"} for e, r in results.items()
                    },
                },
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    sys.exit(main())
