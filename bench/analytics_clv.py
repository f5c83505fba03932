"""CLV benchmark (issue 5): ``guanxi clv fit`` end to end beside the ``lifetimes`` library and a
DuckDB floor, on the same simulated transaction files.

1. Simulates N customers (default 1,000,000) over two years with the BG/NBD + Gamma-Gamma process
   (``guanxi.analytics.clv.simulate_transactions``; r=0.5, alpha=16 days, a=0.5, b=3, p=6, q=4,
   v=15: about 6.4 transactions per customer) and writes them once to Parquet and CSV under
   bench/results/clv/ (columns customer, date, amount).
2. Runs, each as its own process, timed from start to exit with its peak resident memory
   (``/usr/bin/time``, or ``os.wait4`` where there is none): ``guanxi clv fit FILE --json``
   (the installed console script); the floor, a DuckDB scan that only computes the per-customer
   summary (frequency, recency, T, mean repeat spend) in one SQL query; and the peer, the
   ``lifetimes`` 0.11.3 pipeline
   (``summary_data_from_transaction_data`` + ``BetaGeoFitter.fit`` + ``GammaGammaFitter.fit`` +
   ``customer_lifetime_value`` for everyone) in its own virtualenv, bench/.lifetimes-venv, made
   here on first use (lifetimes needs pandas < 2, numpy < 2).
3. Prints seconds, peak MiB and the ratio to lifetimes per file format, the parameter differences
   in % and, where they differ, which fit has the higher log-likelihood (both evaluated with the
   same likelihood on the same summary), and Guanxi's time split into summary and model fitting.

``--scale`` instead times summary + fit through the Python API on DuckDB and on Spark at
1,000,000 and 10,000,000 customers and prints seconds per million transactions.

    python bench/analytics_clv.py [--customers 1000000] [--skip-lifetimes] [--scale]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "clv"
VENV = HERE / ".lifetimes-venv"
LIFETIMES_PINS = [
    "lifetimes==0.11.3",
    "pandas==1.5.3",
    "numpy==1.26.4",
    "scipy==1.11.4",
    "autograd==1.6.2",
    "pyarrow==14.0.2",
]
TRUTH = {"r": 0.5, "alpha": 16.0, "a": 0.5, "b": 3.0, "p": 6.0, "q": 4.0, "v": 15.0}
START, DAYS = dt.date(2024, 1, 1), 730
CHUNK = 1_000_000
COLUMNS = ["--customer-col", "customer", "--date-col", "date", "--amount-col", "amount"]
NAMES = ("r", "alpha", "a", "b", "p", "q", "v")
console = Console(width=110)

LIFETIMES_SCRIPT = r"""
import json, sys, warnings
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
warnings.simplefilter("ignore")
path = sys.argv[1]
if path.endswith(".parquet"):
    frame = pd.read_parquet(path)
else:
    frame = pd.read_csv(path, parse_dates=["date"])
summary = summary_data_from_transaction_data(
    frame, "customer", "date", monetary_value_col="amount", freq="D"
)
bgf = BetaGeoFitter(penalizer_coef=0.0)
bgf.fit(summary["frequency"], summary["recency"], summary["T"])
repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
ggf = GammaGammaFitter(penalizer_coef=0.0)
ggf.fit(repeat["frequency"], repeat["monetary_value"])
clv = ggf.customer_lifetime_value(
    bgf, summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"],
    time=12, discount_rate=0.01, freq="D",
)
out = {name: float(bgf.params_[name]) for name in ("r", "alpha", "a", "b")}
out.update({name: float(ggf.params_[name]) for name in ("p", "q", "v")})
out["customers"] = int(len(summary))
out["frequency_sum"] = float(summary["frequency"].sum())
out["T_sum"] = float(summary["T"].sum())
out["equity"] = float(clv.sum())
print(json.dumps(out))
"""

FLOOR_SCRIPT = r"""
import sys, duckdb
path = sys.argv[1]
source = (f"read_parquet('{path}')" if path.endswith(".parquet")
          else f"read_csv('{path}', header = true)")
con = duckdb.connect()
table = con.execute(f'''
WITH days AS (
  SELECT customer, CAST(date AS DATE) AS day, sum(amount) AS amount FROM {source} GROUP BY ALL
), ends AS (SELECT max(day) AS last FROM days)
SELECT customer, count(*) - 1 AS frequency, date_diff('day', min(day), max(day)) AS recency,
       date_diff('day', min(day), any_value(last)) AS T,
       CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, day)) / (count(*) - 1)
            ELSE 0 END AS monetary_value
FROM days, ends WHERE amount > 0 GROUP BY customer
''').to_arrow_table()
print(table.num_rows)
"""


def simulate(customers: int, seed: int) -> tuple[Path, Path]:
    """The Parquet and CSV files of ``customers`` simulated customers (made once, then reused)."""
    from guanxi.analytics.clv import simulate_transactions

    RESULTS.mkdir(parents=True, exist_ok=True)
    parquet = RESULTS / f"tx_{customers}_{seed}.parquet"
    csv = RESULTS / f"tx_{customers}_{seed}.csv"
    if parquet.exists() and csv.exists():
        return parquet, csv
    console.print(f"simulating {customers:,} customers over {DAYS} days ...")
    schema = pa.schema(
        [("customer", pa.int64()), ("date", pa.timestamp("s")), ("amount", pa.float64())]
    )
    with (
        pq.ParquetWriter(parquet, schema) as parquet_out,
        pacsv.CSVWriter(csv, schema) as csv_out,
    ):
        for offset in range(0, customers, CHUNK):
            n = min(CHUNK, customers - offset)
            log = simulate_transactions(
                n, **TRUTH, start=START, days=DAYS, seed=seed * 1000 + offset // CHUNK
            )
            chunk = pa.table(
                {
                    "customer": pc.add(log["customer_id"], offset),
                    "date": log["ts"].cast(pa.timestamp("s")),
                    "amount": pc.round(log["amount"], 2),
                },
                schema=schema,
            )
            parquet_out.write_table(chunk)
            csv_out.write_table(chunk)
    return parquet, csv


def lifetimes_python() -> Path:
    """The benchmark-only virtualenv with lifetimes and the old pandas/numpy/scipy it needs."""
    python = VENV / "bin" / "python"
    if not python.exists():
        console.print("making bench/.lifetimes-venv (lifetimes 0.11.3 and its old dependencies)")
        base = Path(sys.base_prefix) / "bin" / "python3"
        subprocess.run([str(base), "-m", "venv", str(VENV)], check=True)  # noqa: S603
        (VENV / ".gitignore").write_text("*\n", encoding="utf-8")
        install = [str(python), "-m", "pip", "install", "-q", *LIFETIMES_PINS]
        subprocess.run(install, check=True)  # noqa: S603
    return python


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(seconds, peak MiB, stdout) of one process from start to exit.

    The peak comes from ``/usr/bin/time`` when there is one: a child forked straight from this
    process would start with this process's own resident memory (the simulated data) as its peak.
    """
    out_path = RESULTS / "stdout.txt"
    err_path = RESULTS / "stderr.txt"
    peak_path = RESULTS / "peak.txt"
    timer = Path("/usr/bin/time")
    command = [str(timer), "-f", "%M", "-o", str(peak_path), *args] if timer.exists() else args
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)  # noqa: S603
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args[:4])} failed:\n{err_path.read_text()[-2000:]}")
    peak_kib = int(peak_path.read_text().split()[-1]) if timer.exists() else usage.ru_maxrss
    return seconds, peak_kib / 1024, out_path.read_text()


def guanxi_command() -> list[str]:
    script = Path(sys.executable).parent / "guanxi"
    return [str(script)] if script.exists() else [sys.executable, "-m", "guanxi.entry"]


def log_likelihoods(
    path: Path, fits: dict[str, dict[str, float]]
) -> dict[str, tuple[float, float]]:
    """BG/NBD and Gamma-Gamma log-likelihoods of each parameter set on Guanxi's summary."""
    import ibis

    from guanxi.analytics.clv import bgnbd, gamma_gamma
    from guanxi.analytics.files import FileColumns, load_transactions
    from guanxi.analytics.summary import customer_summary

    con = ibis.duckdb.connect()
    loaded = load_transactions(con, path, FileColumns("customer", "date", "amount"))
    data = con.to_pyarrow(customer_summary(loaded.transactions, end=loaded.last_day))
    x = data["frequency"].to_numpy().astype(float)
    t_x, age = data["recency"].to_numpy(), data["T"].to_numpy()
    m = data["monetary_value"].to_numpy()
    repeat = (x > 0) & (m > 0)
    spend = gamma_gamma._prepare(x[repeat], m[repeat])
    result = {}
    for who, values in fits.items():
        bg = np.array([values[name] for name in ("r", "alpha", "a", "b")])
        gg = np.array([values[name] for name in ("p", "q", "v")])
        result[who] = (
            float(bgnbd.log_likelihood_terms(bg, x, t_x, age).sum()),
            gamma_gamma.log_likelihood(gg, spend)[0],
        )
    return result


def split(path: Path) -> tuple[float, float, float]:
    """Guanxi's own time split in one process, as the command runs: read + summary (the SQL Ibis
    compiles the shared summary to, on a plain DuckDB connection), model fits, CLV for everyone."""
    import duckdb

    from guanxi.analytics import clv
    from guanxi.analytics.clv.summary_sql import summary_sql
    from guanxi.analytics.files import FileColumns, read_transactions

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    loaded = read_transactions(con, path, FileColumns("customer", "date", "amount"))
    con.execute("SET preserve_insertion_order = false")
    data = con.sql(summary_sql(loaded.last_day, holdout=False)).fetchnumpy()
    x, t_x, age, m = (data[name] for name in ("frequency", "recency", "T", "monetary_value"))
    summarised = time.perf_counter()
    bg = clv.fit_bgnbd(x, t_x, age)
    gg = clv.fit_gamma_gamma(x[x > 0], m[x > 0])
    fitted = time.perf_counter()
    clv.customer_value_with_purchases(bg, gg, x, t_x, age, m, margin_rate=1.0)
    valued = time.perf_counter()
    return summarised - started, fitted - summarised, valued - fitted


def compare(customers: int, seed: int, skip_lifetimes: bool) -> None:
    parquet, csv = simulate(customers, seed)
    transactions = pq.read_metadata(parquet).num_rows
    console.print(f"{customers:,} customers, {transactions:,} transactions")
    rows: list[tuple[str, str, float, float]] = []
    reports: dict[str, dict[str, Any]] = {}
    peers: dict[str, dict[str, Any]] = {}
    for kind, path in (("Parquet", parquet), ("CSV", csv)):
        seconds, mib, out = run([*guanxi_command(), "clv", "fit", str(path), *COLUMNS, "--json"])
        reports[kind] = json.loads(out)
        rows.append(("guanxi clv fit", kind, seconds, mib))
        seconds, mib, _ = run([sys.executable, "-c", FLOOR_SCRIPT, str(path)])
        rows.append(("floor: DuckDB summary scan", kind, seconds, mib))
        if not skip_lifetimes:
            seconds, mib, out = run([str(lifetimes_python()), "-c", LIFETIMES_SCRIPT, str(path)])
            peers[kind] = json.loads(out)
            rows.append(("lifetimes 0.11.3", kind, seconds, mib))
    table = Table(title=f"CLV pipeline, {customers:,} customers, {transactions:,} transactions")
    for header in ("run", "file", "seconds", "peak MiB", "lifetimes / this (time)", "memory"):
        table.add_column(header, justify="left" if header in ("run", "file") else "right")
    peer_rows = {kind: (s, m) for name, kind, s, m in rows if name.startswith("lifetimes")}
    for name, kind, seconds, mib in rows:
        peer = peer_rows.get(kind)
        ratio = f"{peer[0] / seconds:.1f}x" if peer else "-"
        memory = f"{mib / peer[1]:.0%}" if peer else "-"
        table.add_row(name, kind, f"{seconds:.2f}", f"{mib:,.0f}", ratio, memory)
    console.print(table)

    summary_s, fit_s, value_s = split(parquet)
    console.print(
        f"Guanxi in one process (Parquet): read + summary {summary_s:.2f} s, BG/NBD + Gamma-Gamma "
        f"fits {fit_s:.2f} s, CLV for everyone {value_s:.2f} s"
    )
    if not peers:
        return
    ours = reports["Parquet"]
    guanxi = {**ours["bgnbd"], **ours["gamma_gamma"]}
    theirs = peers["Parquet"]
    params = Table(title="Parameters: Guanxi vs lifetimes (Parquet run)")
    for header in ("parameter", "truth", "Guanxi", "lifetimes", "difference"):
        params.add_column(header, justify="left" if header == "parameter" else "right")
    for name in NAMES:
        difference = (guanxi[name] - theirs[name]) / theirs[name]
        params.add_row(
            name,
            f"{TRUTH[name]:g}",
            f"{guanxi[name]:.6g}",
            f"{theirs[name]:.6g}",
            f"{difference:+.4%}",
        )
    console.print(params)
    same = ours["customers"] == theirs["customers"]
    console.print(
        f"summaries: {ours['customers']:,} vs {theirs['customers']:,} customers"
        f"{' (same)' if same else ' (DIFFERENT)'}; "
        f"lifetimes frequency sum {theirs['frequency_sum']:,.0f}"
    )
    likelihoods = log_likelihoods(parquet, {"Guanxi": guanxi, "lifetimes": theirs})
    for model, index in (("BG/NBD", 0), ("Gamma-Gamma", 1)):
        mine, peer = likelihoods["Guanxi"][index], likelihoods["lifetimes"][index]
        better = "Guanxi" if mine > peer else "lifetimes" if peer > mine else "neither"
        console.print(
            f"{model} log-likelihood on the same summary: Guanxi {mine:,.3f}, lifetimes "
            f"{peer:,.3f} (higher: {better}, by {abs(mine - peer):.3g})"
        )


def scale(
    seed: int,
    engines: tuple[str, ...] = ("duckdb", "spark"),
    sizes: tuple[int, ...] = (1_000_000, 10_000_000),
) -> None:
    """Summary + fit through the Python API on DuckDB and Spark at 1 M and 10 M customers."""
    import ibis

    from guanxi.analytics import clv, engine
    from guanxi.analytics.files import FileColumns, load_transactions
    from guanxi.analytics.summary import customer_summary

    table = Table(title="Summary + BG/NBD + Gamma-Gamma fit through the Python API")
    for header in ("engine", "customers", "transactions", "seconds", "s per M transactions"):
        table.add_column(header, justify="left" if header == "engine" else "right")
    for customers in sizes:
        parquet, _ = simulate(customers, seed)
        transactions = pq.read_metadata(parquet).num_rows
        for name in engines:
            started = time.perf_counter()
            opened = engine.connect(name)
            if name == "duckdb":
                tx = load_transactions(
                    opened.backend, parquet, FileColumns("customer", "date", "amount")
                ).transactions
            else:
                raw = opened.table(parquet)
                tx = raw.select(
                    customer_id=raw.customer,
                    order_id=ibis.literal(0, "int64"),
                    ts=raw.date.cast("timestamp"),
                    amount=raw.amount,
                    cost=ibis.literal(0.0),
                    channel=ibis.null("string"),
                )
            end = opened.to_arrow(tx.aggregate(last=tx.ts.max().date()))["last"][0].as_py()
            summary = customer_summary(tx, end=end).select(
                "frequency", "recency", "T", "monetary_value"
            )
            data = opened.to_arrow(summary)
            x, t_x, age, m = (
                data[col].to_numpy() for col in ("frequency", "recency", "T", "monetary_value")
            )
            clv.fit_bgnbd(x, t_x, age)
            clv.fit_gamma_gamma(x[x > 0], m[x > 0])
            seconds = time.perf_counter() - started
            opened.close()
            table.add_row(
                name,
                f"{customers:,}",
                f"{transactions:,}",
                f"{seconds:.1f}",
                f"{seconds / (transactions / 1e6):.2f}",
            )
            console.print(f"{name} {customers:,}: {seconds:.1f} s")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--scale", action="store_true", help="1 M and 10 M on DuckDB and Spark")
    parser.add_argument(
        "--scale-engines", default="duckdb,spark", help="with --scale: comma-separated engines"
    )
    parser.add_argument(
        "--scale-sizes", default="1000000,10000000", help="with --scale: comma-separated sizes"
    )
    options = parser.parse_args()
    if options.scale:
        scale(
            options.seed,
            tuple(options.scale_engines.split(",")),
            tuple(int(size) for size in options.scale_sizes.split(",")),
        )
    else:
        compare(options.customers, options.seed, options.skip_lifetimes)


if __name__ == "__main__":
    main()
