"""``guanxi clv fit``: the analysts' file command, on small seeded files (CSV and Parquet)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from guanxi.analytics import inputs
from guanxi.analytics.clv import simulate_transactions
from guanxi.analytics.clv.summary_sql import compiled_sql, summary_expression, summary_sql
from guanxi.analytics.clv_cli import clv_app
from tests.analytics.conftest import BothEngines

COLUMNS = ["--customer-col", "customer", "--date-col", "date", "--amount-col", "amount"]
TRUTH = {"r": 0.5, "alpha": 16.0, "a": 0.5, "b": 3.0, "p": 6.0, "q": 4.0, "v": 15.0}
runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """3,000 simulated customers over two years as Parquet (integer ids) and CSV (text ids)."""
    folder = tmp_path_factory.mktemp("clv")
    log = simulate_transactions(3000, **TRUTH, start=dt.date(2024, 1, 1), days=730, seed=7)
    table = pa.table(
        {
            "customer": log["customer_id"],
            "date": log["ts"].cast(pa.timestamp("s")),
            "amount": pc.round(log["amount"], 2),
        }
    )
    parquet = folder / "tx.parquet"
    pq.write_table(table, parquet)
    text_ids = pc.binary_join_element_wise("C", log["customer_id"].cast(pa.string()), "")
    csv = folder / "tx.csv"
    pacsv.write_csv(table.set_column(0, "customer", text_ids), csv)
    return {"parquet": parquet, "csv": csv, "folder": folder}


def fit(*args: str | Path) -> Any:
    return runner.invoke(clv_app, ["fit", *(str(arg) for arg in args)])


def fit_json(path: Path, *extra: str) -> dict[str, Any]:
    result = fit(path, *COLUMNS, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def write_csv(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_table_output_shows_parameters_with_errors_and_the_clv_summary(
    files: dict[str, Path],
) -> None:
    report = fit_json(files["parquet"])
    result = fit(files["parquet"], *COLUMNS)
    assert result.exit_code == 0, result.output
    for name in ("r", "alpha", "a", "b"):
        assert f"{report['bgnbd'][name]:,.6g}" in result.stdout
        assert f"{report['bgnbd']['standard_errors'][name]:,.3g}" in result.stdout
    for name in ("p", "q", "v"):
        assert f"{report['gamma_gamma'][name]:,.6g}" in result.stdout
    for label in ("BG/NBD", "Gamma-Gamma", "mean P(alive)", "customer equity", "3,000"):
        assert label in result.stdout
    assert "Holdout" not in result.stdout


def test_json_is_one_object_with_the_documented_keys(files: dict[str, Path]) -> None:
    report = fit_json(files["parquet"])
    assert {"bgnbd", "gamma_gamma", "customers", "transactions", "observation_end", "clv"} <= set(
        report
    )
    assert "holdout" not in report
    assert {"r", "alpha", "a", "b", "log_likelihood", "standard_errors"} <= set(report["bgnbd"])
    assert set(report["bgnbd"]["standard_errors"]) == {"r", "alpha", "a", "b"}
    assert {"p", "q", "v", "log_likelihood", "standard_errors"} <= set(report["gamma_gamma"])
    assert report["customers"] == 3000
    transactions = pq.read_metadata(files["parquet"]).num_rows
    assert report["transactions"] == transactions
    last = pq.read_table(files["parquet"])["date"].to_pylist()
    assert report["observation_end"] == max(last).date().isoformat()
    value = report["clv"]
    assert value["customer_equity"] == pytest.approx(value["mean_clv"] * 3000)
    assert 0 < value["mean_probability_alive"] < 1
    # the fit finds the simulated process (alpha is biased up a little by same-day repeats)
    assert report["bgnbd"]["r"] == pytest.approx(TRUTH["r"], rel=0.25)
    assert report["gamma_gamma"]["q"] == pytest.approx(TRUTH["q"], rel=0.3)


def test_csv_with_text_ids_and_parquet_with_numbers_give_the_same_fit(
    files: dict[str, Path],
) -> None:
    from_parquet = fit_json(files["parquet"])
    from_csv = fit_json(files["csv"])
    for model, names in (("bgnbd", "r alpha a b"), ("gamma_gamma", "p q v")):
        for name in names.split():
            # customers arrive in another order, so sums differ in the last bits
            assert from_csv[model][name] == pytest.approx(from_parquet[model][name], rel=1e-6)
    assert from_csv["clv"] == pytest.approx(from_parquet["clv"], rel=1e-6)
    assert from_csv["customers"] == from_parquet["customers"]


def test_weeks_divide_recency_and_age_by_seven(files: dict[str, Path]) -> None:
    days = fit_json(files["parquet"])
    weeks = fit_json(files["parquet"], "--period", "week")
    assert weeks["period"] == "week"
    # the same customers with recency and T in weeks: the time scale alpha shrinks sevenfold while
    # the shape parameters stay, and CLV over the same 365 days hardly moves
    assert weeks["bgnbd"]["alpha"] == pytest.approx(days["bgnbd"]["alpha"] / 7, rel=1e-3)
    for name in ("r", "a", "b"):
        assert weeks["bgnbd"][name] == pytest.approx(days["bgnbd"][name], rel=1e-3)
    assert weeks["clv"]["customer_equity"] == pytest.approx(
        days["clv"]["customer_equity"], rel=1e-2
    )


def test_calibration_end_fits_on_the_past_and_compares_with_the_holdout(
    files: dict[str, Path],
) -> None:
    report = fit_json(files["parquet"], "--calibration-end", "2025-06-30")
    assert report["observation_end"] == "2025-06-30"
    rows = report["holdout"]
    assert [row["label"] for row in rows] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(row["customers"] for row in rows) == report["customers"] < 3000
    # the model predicts the holdout it never saw (in total; buckets of a few dozen are noisy)
    predicted = sum(row["predicted"] * row["customers"] for row in rows)
    actual = sum(row["actual"] * row["customers"] for row in rows)
    assert predicted == pytest.approx(actual, rel=0.1)
    assert rows[-1]["actual"] > rows[0]["actual"]
    table = fit(files["parquet"], *COLUMNS, "--calibration-end", "2025-06-30")
    assert "Holdout 2025-06-30" in table.stdout
    assert "7+" in table.stdout


def test_count_column_counts_transactions_and_drops_rows_of_zero(
    files: dict[str, Path], tmp_path: Path
) -> None:
    table = pq.read_table(files["parquet"])
    counts = [2 if index % 10 == 0 else 1 for index in range(table.num_rows)]
    # rows with a count of 0 are not transactions: these customers must not appear
    ghosts = pa.table(
        {
            "customer": pa.array([900_001, 900_002], pa.int64()),
            "date": pa.array(
                [dt.datetime(2024, 5, 1), dt.datetime(2024, 6, 1)], table.schema.field("date").type
            ),
            "amount": [10.0, 20.0],
            "n": pa.array([0, 0], pa.int64()),
        }
    )
    counted = pa.concat_tables([table.append_column("n", pa.array(counts, pa.int64())), ghosts])
    path = tmp_path / "counted.parquet"
    pq.write_table(counted, path)
    plain = fit_json(files["parquet"])
    report = fit_json(path, "--count-col", "n")
    assert report["transactions"] == sum(counts)
    assert report["customers"] == plain["customers"]
    assert report["bgnbd"]["r"] == pytest.approx(plain["bgnbd"]["r"], rel=1e-12)


def assert_one_clear_message(result: Any, *parts: str) -> None:
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for part in parts:
        assert part in message


@pytest.mark.parametrize(
    ("text", "extra", "parts"),
    [
        (
            "client,date,amount\nA,2024-01-01,3\n",
            [],
            ["no column 'customer' (--customer-col)", "the columns are: client, date, amount"],
        ),
        (
            "customer,date,amount\nA,2024-01-01,3\nB,2024-02-31,4\n",
            [],
            ["row 2 (line 3)", "'2024-02-31' is not a date"],
        ),
        ("customer,date,amount\nA,2024-01-01,3\nB,,4\n", [], ["row 2 (line 3)", "date", "empty"]),
        (
            "customer,date,amount\nA,2024-01-01,3\nB,2024-01-02,12 yuan\n",
            [],
            ["row 2 (line 3)", "'12 yuan' is not a number"],
        ),
        (
            "customer,date,amount,n\nA,2024-01-01,3,1\nB,2024-01-02,4,1\nB,2024-01-03,4,-2\n",
            ["--count-col", "n"],
            ["row 3 (line 4)", "count (n) '-2.0' is negative"],
        ),
        ("customer,date,amount\n", [], ["the file is empty"]),
        ("", [], ["the file is empty"]),
    ],
    ids=[
        "missing-column",
        "bad-date",
        "empty-date",
        "bad-amount",
        "negative-count",
        "no-rows",
        "0-bytes",
    ],
)
def test_bad_files_get_one_clear_message(
    tmp_path: Path, text: str, extra: list[str], parts: list[str]
) -> None:
    path = write_csv(tmp_path, "bad.csv", text)
    assert_one_clear_message(fit(path, *COLUMNS, *extra), *parts)


def test_missing_and_foreign_files_are_named(tmp_path: Path) -> None:
    assert_one_clear_message(fit(tmp_path / "nowhere.csv", *COLUMNS), "nowhere.csv: no such file")
    sheet = tmp_path / "tx.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a workbook")
    assert_one_clear_message(fit(sheet, *COLUMNS), "not a CSV or Parquet file")


def test_a_fit_that_fails_says_why(tmp_path: Path) -> None:
    # everybody keeps buying and nobody lapses: the data cannot pin BG/NBD down
    lines = ["customer,date,amount"]
    for customer in range(5):
        lines += [f"{customer},2024-0{month}-0{customer + 1},{10 + month}" for month in range(1, 9)]
    path = write_csv(tmp_path, "steady.csv", "\n".join(lines) + "\n")
    assert_one_clear_message(fit(path, *COLUMNS), "could not be fitted")


def test_calibration_end_outside_the_file_is_refused(files: dict[str, Path]) -> None:
    assert_one_clear_message(
        fit(files["parquet"], *COLUMNS, "--calibration-end", "2030-01-01"), "leaves no holdout"
    )
    assert_one_clear_message(
        fit(files["parquet"], *COLUMNS, "--calibration-end", "2020-01-01"),
        "before the first transaction",
    )
    result = fit(files["parquet"], *COLUMNS, "--calibration-end", "30/06/2025")
    assert result.exit_code == 2
    assert "'30/06/2025' is not a date" in result.output


def test_the_guanxi_command_runs_clv_without_loading_the_crm(files: dict[str, Path]) -> None:
    code = (
        "import sys\n"
        "sys.argv = ['guanxi', *sys.argv[1:]]\n"
        "from guanxi.entry import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    heavy = {'guanxi.cli', 'sqlalchemy', 'fastapi', 'ibis', 'pandas'} & set(sys.modules)\n"
        "    print('LOADED' if heavy else 'LEAN')\n"
    )
    args = [sys.executable, "-c", code, "clv", "fit", str(files["parquet"]), *COLUMNS, "--json"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report, lean = done.stdout.strip().rsplit("\n", 1)
    assert json.loads(report)["customers"] == 3000
    assert lean == "LEAN"
    bad = [sys.executable, "-m", "guanxi.entry", "clv", "fit", str(files["folder"] / "x.csv")]
    done = subprocess.run([*bad, *COLUMNS], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("x.csv: no such file")
    assert "Traceback" not in done.stderr


def _words(sql: str) -> list[str]:
    return sql.split()


@pytest.mark.parametrize("holdout", [False, True], ids=["summary", "with-holdout"])
def test_the_commands_sql_is_the_shared_summary_as_ibis_compiles_it(holdout: bool) -> None:
    for end in (dt.date(2025, 6, 30), dt.date(2024, 12, 1)):
        fresh = compiled_sql(end, holdout=holdout)
        assert _words(summary_sql(end, holdout=holdout)) == _words(fresh), (
            "the summary changed: regenerate clv/summary_sql.py with "
            "`python -m guanxi.analytics.clv.summary_sql`"
        )


def test_the_commands_summary_is_the_same_on_duckdb_sql_and_both_engines(
    both: BothEngines,
) -> None:
    """The expression behind the SQL agrees on DuckDB and Spark, and the SQL the command runs on a
    plain DuckDB connection gives the same rows: same-day orders, a return, a zero-value day, a
    one-time buyer, purchases after the calibration end."""
    ts = [
        dt.datetime(2024, 1, 1, 9),
        dt.datetime(2024, 1, 1, 18),
        dt.datetime(2024, 1, 5),
        dt.datetime(2024, 2, 1),
        dt.datetime(2024, 2, 1, 12),
        dt.datetime(2024, 2, 20),
        dt.datetime(2024, 1, 10),
        dt.datetime(2024, 3, 15),
        dt.datetime(2024, 4, 2),
    ]
    tx = inputs.conform(
        pa.table(
            {
                "customer_id": [1, 1, 1, 1, 1, 1, 2, 1, 3],
                "order_id": range(1, len(ts) + 1),
                "ts": ts,
                "amount": [10.0, 5.0, 0.0, 20.0, -20.0, 30.0, 7.5, 12.0, 4.0],
                "cost": [1.0] * len(ts),
                "channel": ["web"] * len(ts),
            }
        ),
        inputs.TRANSACTIONS,
    )
    end = dt.date(2024, 3, 1)
    rows = both.run(
        lambda engine: summary_expression(engine.table(tx), end, holdout=True),
        sort_by="customer_id",
    )
    assert [row["customer_id"] for row in rows] == [1, 2]
    assert rows[0]["frequency"] == 1 and rows[0]["monetary_value"] == 30.0
    assert [row["holdout"] for row in rows] == [1, 0]
    import duckdb

    duck = duckdb.connect()
    duck.register("transactions", tx)
    for holdout in (False, True):
        found = duck.sql(summary_sql(end, holdout=holdout)).to_arrow_table()
        columns = ["frequency", "recency", "T", "monetary_value"] + (["holdout"] if holdout else [])
        assert found.column_names == columns
        assert sorted(found.to_pylist(), key=lambda row: row["T"]) == sorted(
            ({key: row[key] for key in columns} for row in rows), key=lambda row: row["T"]
        )
