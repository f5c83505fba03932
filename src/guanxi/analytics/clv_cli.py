"""``guanxi clv fit``: BG/NBD and Gamma-Gamma fitted to an analyst's CSV or Parquet file.

The file is read by DuckDB (``analytics.files``), summarised per customer by the same
``customer_summary`` the scoring run uses (run as the SQL Ibis compiles it to, see
``clv.summary_sql``), and fitted by ``analytics.clv``; the command prints the
parameters with standard errors and the CLV summary (customers, repeat customers, mean P(alive),
expected purchases over the horizon, mean CLV and customer equity, 客户资产), and with
``--calibration-end`` the holdout comparison of predicted and actual repeat purchases by
calibration frequency. ``--json`` prints the same as one JSON object.

This module is imported on the fast path of the ``guanxi`` command (see ``guanxi.entry``), so it
imports nothing heavy at module level: DuckDB, NumPy and the models load when a command runs, and
Ibis not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

clv_app = typer.Typer(
    help="Customer lifetime value (BG/NBD + Gamma-Gamma) from a transaction file",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DAYS = {"day": 1, "week": 7}
HOLDOUT_MAX_FREQUENCY = 7


class Period(StrEnum):
    """The time unit of recency, T and the fitted rates."""

    day = "day"
    week = "week"


class ClvProblem(Exception):
    """Stops ``guanxi clv fit`` with one message on stderr and exit code 1."""


def _finite(value: Any) -> Any:
    """A JSON-safe number: NaN and infinities (an unidentified standard error) become null."""
    number = float(value)
    return number if math.isfinite(number) else None


def _records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The holdout comparison with plain JSON-safe numbers."""

    def plain(value: Any) -> Any:
        if hasattr(value, "item"):
            value = value.item()
        return _finite(value) if isinstance(value, float) else value

    return [{str(key): plain(value) for key, value in row.items()} for row in rows]


def memory_limit(rows: int) -> str:
    """DuckDB's memory limit for summarising a file of about ``rows`` rows: 64 bytes a row, at
    least 256 MiB and at most DuckDB's own default, 80% of the machine's memory.

    Without a limit DuckDB keeps the customer-day aggregation's memory long after it could let
    it go (peaks of 700 MiB at 6.4 M rows); with this one the peak drops by a quarter at the same
    speed. A file that needs more than the limit spills to a temporary directory, deleted at the
    end, rather than failing.
    """
    wanted = max(256 << 20, 64 * rows)
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        wanted = min(wanted, int(physical * 0.8))
    except (ValueError, OSError, AttributeError):  # no sysconf: keep the estimate
        pass
    return f"{wanted >> 20}MiB"


def fit_file(
    path: Path | str,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    count_col: str | None = None,
    period: str = "day",
    calibration_end: dt.date | None = None,
    margin_rate: float = 1.0,
    horizon_days: int = 365,
    discount_rate: float = 0.10,
) -> dict[str, Any]:
    """Read, summarise and fit a transaction file; the report ``--json`` prints.

    Raises ``FileProblem`` for a bad file, ``FitFailed`` when a model cannot be fitted and
    ``ClvProblem`` for a calibration end outside the file's dates.
    """
    import duckdb

    from guanxi.analytics.clv.summary_sql import summary_sql
    from guanxi.analytics.files import FileColumns, estimated_rows, read_transactions

    columns = FileColumns(customer_col, date_col, amount_col, count_col)
    spill = tempfile.TemporaryDirectory(prefix="guanxi-clv-")
    # a plain DuckDB connection, set up as Ibis sets up its own, runs the summary as Ibis
    # compiles it (see clv.summary_sql), sparing the command the import of Ibis
    duck = duckdb.connect(config={"python_enable_replacements": False})
    try:
        duck.execute("SET TimeZone = 'UTC'")
        duck.execute("SET enable_progress_bar = false")
        duck.execute("SET temp_directory = $spill", {"spill": spill.name})
        duck.execute(
            "SET memory_limit = $limit", {"limit": memory_limit(estimated_rows(path, duck))}
        )
        loaded = read_transactions(duck, Path(path), columns)
        # after the read, whose row numbers name bad rows: the summary's rows need no order
        duck.execute("SET preserve_insertion_order = false")
        end = calibration_end or loaded.last_day
        if calibration_end is not None:
            if calibration_end < loaded.first_day:
                raise ClvProblem(
                    f"--calibration-end {calibration_end} is before the first transaction "
                    f"({loaded.first_day})"
                )
            if calibration_end >= loaded.last_day:
                raise ClvProblem(
                    f"--calibration-end {calibration_end} leaves no holdout: the last "
                    f"transaction is on {loaded.last_day}"
                )
        data = duck.sql(summary_sql(end, holdout=calibration_end is not None)).fetchnumpy()
    finally:
        duck.close()
        spill.cleanup()
    from guanxi.analytics import clv

    unit_days = DAYS[period]
    frequency = data["frequency"]
    # the summary is in days; other units divide as customer_summary(unit=...) does
    recency = data["recency"] / unit_days
    age = data["T"] / unit_days
    spend = data["monetary_value"]

    bgnbd = clv.fit_bgnbd(frequency, recency, age)
    repeat = frequency > 0
    gamma_gamma = clv.fit_gamma_gamma(frequency[repeat], spend[repeat])
    values, alive, purchases = clv.customer_value_with_purchases(
        bgnbd,
        gamma_gamma,
        frequency,
        recency,
        age,
        spend,
        margin_rate=margin_rate,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        unit_days=unit_days,
    )
    customers = int(frequency.size)
    report: dict[str, Any] = {
        "bgnbd": {
            **{name: _finite(value) for name, value in bgnbd.params().items()},
            "log_likelihood": _finite(bgnbd.log_likelihood),
            "standard_errors": {k: _finite(v) for k, v in bgnbd.standard_errors.items()},
            "converged": bool(bgnbd.converged),
            "iterations": int(bgnbd.iterations),
        },
        "gamma_gamma": {
            **{name: _finite(value) for name, value in gamma_gamma.params().items()},
            "log_likelihood": _finite(gamma_gamma.log_likelihood),
            "standard_errors": {k: _finite(v) for k, v in gamma_gamma.standard_errors.items()},
            "customers": int(repeat.sum()),
        },
        "customers": customers,
        "transactions": loaded.transactions_count,
        "observation_end": end.isoformat(),
        "period": period,
        "clv": {
            "margin_rate": margin_rate,
            "horizon_days": horizon_days,
            "discount_rate": discount_rate,
            "repeat_customers": int(repeat.sum()),
            "mean_probability_alive": _finite(float(alive.mean())),
            "expected_purchases": _finite(float(purchases.sum())),
            "mean_clv": _finite(float(clv.customer_equity(values)) / customers),
            "customer_equity": _finite(clv.customer_equity(values)),
        },
    }
    if calibration_end is not None:
        length = (loaded.last_day - calibration_end).days / unit_days
        actual = data["holdout"]
        report["holdout_end"] = loaded.last_day.isoformat()
        report["holdout_length"] = length
        report["holdout"] = _records(
            clv.holdout_by_frequency(
                bgnbd,
                frequency,
                recency,
                age,
                actual,
                holdout_length=length,
                max_frequency=HOLDOUT_MAX_FREQUENCY,
            )
        )
    return report


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _print_tables(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    unit = report["period"]
    console.print(
        f"{report['customers']:,} customers, {report['transactions']:,} transactions, "
        f"observed to {report['observation_end']}, in {unit}s"
    )
    parameters = Table(title="Model parameters")
    for header in ("model", "parameter", "estimate", "std. error"):
        parameters.add_column(
            header, justify="left" if header in ("model", "parameter") else "right"
        )
    for model, names, label in (
        ("bgnbd", ("r", "alpha", "a", "b"), "BG/NBD"),
        ("gamma_gamma", ("p", "q", "v"), "Gamma-Gamma"),
    ):
        fit = report[model]
        for index, name in enumerate(names):
            parameters.add_row(
                label if index == 0 else "",
                name,
                _number(fit[name], 6),
                _number(fit["standard_errors"].get(name), 3),
            )
        parameters.add_row(
            "", "log-likelihood", _number(fit["log_likelihood"], 10), "", end_section=True
        )
    console.print(parameters)

    value = report["clv"]
    summary = Table(title="Customer lifetime value")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    horizon = value["horizon_days"]
    for label, figure in (
        ("customers", report["customers"]),
        ("repeat customers", value["repeat_customers"]),
        ("mean P(alive)", value["mean_probability_alive"]),
        (f"expected purchases, next {horizon} days", value["expected_purchases"]),
        ("mean CLV", value["mean_clv"]),
        ("customer equity (total CLV)", value["customer_equity"]),
    ):
        summary.add_row(label, _number(figure))
    console.print(summary)
    console.print(
        f"CLV: margin rate {value['margin_rate']:g}, horizon {horizon} days, "
        f"discount rate {value['discount_rate']:g} a year"
    )
    if "holdout" in report:
        rows = report["holdout"]
        holdout = Table(
            title=f"Holdout {report['observation_end']} to {report['holdout_end']}: "
            "repeat purchases by calibration frequency"
        )
        for header in ("calibration frequency", "customers", "predicted", "actual"):
            holdout.add_column(header, justify="right")
        for row in rows:
            holdout.add_row(
                str(row["label"]),
                _number(row["customers"]),
                _number(row["predicted"]),
                _number(row["actual"]),
            )
        console.print(holdout)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date; write YYYY-MM-DD") from exc


@clv_app.callback()
def _clv() -> None:
    """Customer lifetime value from a transaction file."""


@clv_app.command("fit")
def fit(
    file: Annotated[Path, typer.Argument(help="A CSV (with a header row) or Parquet file")],
    customer_col: Annotated[
        str, typer.Option("--customer-col", help="Column with the customer id")
    ],
    date_col: Annotated[str, typer.Option("--date-col", help="Column with the date or date-time")],
    amount_col: Annotated[str, typer.Option("--amount-col", help="Column with the amount paid")],
    count_col: Annotated[
        str | None,
        typer.Option("--count-col", help="Column with the number of transactions in each row"),
    ] = None,
    period: Annotated[Period, typer.Option(help="Time unit of recency and T")] = Period.day,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            "--calibration-end",
            help="YYYY-MM-DD: fit on transactions up to this day, compare with those after it",
        ),
    ] = None,
    margin_rate: Annotated[
        float, typer.Option(help="Share of revenue that is margin (1.0: CLV in revenue)")
    ] = 1.0,
    horizon_days: Annotated[int, typer.Option(help="CLV horizon in days")] = 365,
    discount_rate: Annotated[float, typer.Option(help="Yearly discount rate")] = 0.10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma to a transaction file and print parameters and CLV."""
    from guanxi.analytics.clv import FitFailed
    from guanxi.analytics.files import FileProblem

    end = _date(calibration_end)
    if horizon_days <= 0:
        raise typer.BadParameter("must be at least 1", param_hint="--horizon-days")
    if margin_rate < 0:
        raise typer.BadParameter("must not be negative", param_hint="--margin-rate")
    try:
        report = fit_file(
            file,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            count_col=count_col,
            period=period.value,
            calibration_end=end,
            margin_rate=margin_rate,
            horizon_days=horizon_days,
            discount_rate=discount_rate,
        )
    except (FileProblem, ClvProblem) as exc:
        _fail(str(exc))
    except FitFailed as exc:
        _fail(f"the model could not be fitted: {exc}")
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        _print_tables(report)


def _fail(message: str) -> None:
    sys.stderr.write(f"guanxi clv fit: {message}\n")
    raise typer.Exit(1)


def run(args: list[str]) -> None:
    """Run ``guanxi clv ...`` without loading the rest of Guanxi (``guanxi.entry`` calls this)."""
    clv_app(args=args, prog_name="guanxi clv")
