"""``guanxi analyze``: score the store into ``customer_scores`` with a progress bar."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from guanxi.cli_support import CliError, console, database, settings, unit_of_work

STEP_LABELS = {
    "summary": "Summarising purchases",
    "segments": "RFM, value tiers and trends",
    "clv": "Fitting BG/NBD and Gamma-Gamma",
    "lifecycle": "Lifecycle stages",
    "churn": "Churn risk and causes",
    "recommendations": "Recommendations",
    "reports": "Cohorts, rules and diagnostics",
    "done": "Done",
}


def analyze(
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (in-process, default) or spark")
    ] = "duckdb",
    end: Annotated[
        str | None,
        typer.Option("--end", help="Observation end YYYY-MM-DD (default: today)"),
    ] = None,
    timings: Annotated[
        bool, typer.Option("--timings", help="Also print how long each step took")
    ] = False,
) -> None:
    """Score every customer: summary, RFM, value tiers, CLV, lifecycle, churn, recommendations."""
    from guanxi.analytics import runs  # the engines load only when a run is asked for

    if engine not in ("duckdb", "spark"):
        raise CliError(f"--engine: unknown engine {engine!r}; choose duckdb or spark")
    try:
        observation_end = dt.date.fromisoformat(end) if end else None
    except ValueError as exc:
        raise CliError(f"--end: {end!r} is not a date like 2026-11-23") from exc
    current = settings()
    db = database(current)
    with unit_of_work(db) as session:
        run = runs.start(session, engine=engine, end=observation_end, timezone=current.timezone)
        run_id = run.id
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task(STEP_LABELS["summary"], total=100)
        marks: list[tuple[str, float]] = []

        def advance(step: str, percent: int) -> None:
            marks.append((step, time.perf_counter()))
            bar.update(task, completed=percent, description=STEP_LABELS.get(step, step))

        started = time.perf_counter()
        finished = runs.execute(db, current, run_id, progress=advance)
        ended = time.perf_counter()
    if timings:
        _print_timings(started, marks, ended)
    if finished.status != "succeeded":
        raise CliError(f"scoring run {run_id} failed: {finished.error}")
    _print_summary(
        finished.id, finished.customers_scored, finished.transactions, finished.diagnostics
    )


def _print_timings(started: float, marks: list[tuple[str, float]], ended: float) -> None:
    """Seconds per step: reading the store comes before the first step, writing the scores
    after the last one ("done")."""
    table = Table(title="Step timings")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    rows = [("Reading the store", (marks[0][1] if marks else ended) - started)]
    for (step, at), (_, following) in zip(marks, [*marks[1:], ("", ended)], strict=True):
        label = "Writing the results" if step == "done" else STEP_LABELS.get(step, step)
        rows.append((label, following - at))
    rows.append(("Total", ended - started))
    for label, seconds in rows:
        table.add_row(label, f"{seconds:.1f}")
    console.print(table)


def _print_summary(run_id: int, customers: int, transactions: int, diagnostics: dict) -> None:
    table = Table(title=f"Scoring run {run_id}", show_header=False)
    table.add_row("customers scored", f"{customers:,}")
    table.add_row("transactions", f"{transactions:,}")
    bgnbd = diagnostics.get("bgnbd") or {}
    table.add_row(
        "BG/NBD r, alpha, a, b",
        ", ".join(f"{bgnbd.get(name, float('nan')):.4g}" for name in ("r", "alpha", "a", "b")),
    )
    gamma = diagnostics.get("gamma_gamma") or {}
    table.add_row(
        "Gamma-Gamma p, q, v",
        ", ".join(f"{gamma.get(name, float('nan')):.4g}" for name in ("p", "q", "v")),
    )
    equity = diagnostics.get("customer_equity")
    if equity is not None:
        table.add_row("customer equity", f"{equity:,.2f}")
    for name, label in (("gini", "Gini of profit"), ("top_20_share", "profit from top 20%")):
        if diagnostics.get(name) is not None:
            table.add_row(label, f"{diagnostics[name]:.3f}")
    console.print(table)
