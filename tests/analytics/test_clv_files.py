"""Reading an analyst's Parquet file: the footer's statistics stand in for a scan only when they
prove the file clean, and the result is the same either way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from guanxi.analytics import files
from guanxi.analytics.files import FileColumns, FileProblem, load_transactions

COLUMNS = FileColumns("customer", "date", "amount")


def table(dates: list[dt.datetime | None], amounts: list[float | None]) -> pa.Table:
    return pa.table(
        {
            "customer": pa.array(range(1, len(dates) + 1), pa.int64()),
            "date": pa.array(dates, pa.timestamp("ms")),
            "amount": pa.array(amounts, pa.float64()),
        }
    )


DATES = [dt.datetime(2024, 3, 5, 9), dt.datetime(2024, 1, 2, 23, 59), dt.datetime(2025, 6, 30, 1)]


def load(path: Path) -> Any:
    con = ibis.duckdb.connect()
    try:
        loaded = load_transactions(con, path, COLUMNS)
        rows = con.to_pyarrow(loaded.transactions).num_rows
        return loaded.rows, loaded.transactions_count, loaded.first_day, loaded.last_day, rows
    finally:
        con.disconnect()


@pytest.mark.parametrize("statistics", [True, False], ids=["footer", "no-statistics"])
def test_first_and_last_day_and_counts_agree_with_or_without_footer_statistics(
    tmp_path: Path, statistics: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tx.parquet"
    # small row groups: the bounds come from several groups' statistics
    pq.write_table(
        table(DATES, [3.0, 4.0, 5.0]), path, row_group_size=1, write_statistics=statistics
    )
    used: list[object] = []
    original = files._metadata_stats

    def spy(*args: Any) -> Any:
        found = original(*args)
        used.append(found)
        return found

    monkeypatch.setattr(files, "_metadata_stats", spy)
    assert load(path) == (3, 3, dt.date(2024, 1, 2), dt.date(2025, 6, 30), 3)
    # the footer answered only when it had statistics to answer with
    assert (used[0] is not None) is statistics


@pytest.mark.parametrize(
    ("dates", "amounts", "message"),
    [
        (DATES, [3.0, None, 5.0], "row 2: the amount (amount) is empty"),
        ([DATES[0], DATES[1], None], [3.0, 4.0, 5.0], "row 3: the date (date) is empty"),
    ],
    ids=["empty-amount", "empty-date"],
)
def test_a_footer_with_nulls_sends_the_file_to_the_scan_that_names_the_row(
    tmp_path: Path, dates: list[dt.datetime | None], amounts: list[float | None], message: str
) -> None:
    path = tmp_path / "tx.parquet"
    pq.write_table(table(dates, amounts), path)
    with pytest.raises(FileProblem, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(path)


def test_dates_with_a_time_zone_are_scanned_not_read_from_the_footer(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    zoned = table(DATES, [3.0, 4.0, 5.0]).set_column(
        1, "date", pa.array(DATES, pa.timestamp("ms", tz="UTC"))
    )
    pq.write_table(zoned, path)
    con = ibis.duckdb.connect()
    try:
        present = files._columns(con.con, "parquet", path)
        assert files._metadata_stats(con.con, path, present, COLUMNS) is None
    finally:
        con.disconnect()
