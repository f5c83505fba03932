"""An analyst's transaction file (CSV or Parquet) as the canonical transactions table on DuckDB.

The file command (``guanxi clv fit``) and anyone with a spreadsheet export start here: the named
customer, date and amount columns (and optionally a count column) are read by DuckDB, checked, and
renamed to ``inputs.TRANSACTIONS`` (``customer_id``, ``order_id``, ``ts``, ``amount``, ``cost``,
``channel``), so the per-customer summary is the one the rest of the system uses.

Every problem stops the read with one ``FileProblem`` whose message names it: the file is missing
or neither CSV nor Parquet, a column is missing (the columns present are listed), the file has no
rows, or a row holds an empty or unparsable date, an empty customer, an amount that is not a number
or a negative count (the first such row is named, counting data rows from 1; in a CSV with a header
that is file line row + 1).

Customer ids may be text: they become int64 codes (``customer_keys`` keeps the mapping). Rows whose
count is 0 are not transactions and are left out; ``cost`` is 0 and ``channel`` is unknown (null).
"""

# ruff: noqa: S608  (SQL is built from the file path and column names, quoted by _literal/_quote)
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class FileProblem(ValueError):
    """A transaction file that cannot be used as asked; the message says what and where."""


@dataclass(frozen=True)
class FileColumns:
    """Which of the file's columns hold the customer, the date, the amount and (optionally) a count
    of transactions per row."""

    customer: str
    date: str
    amount: str
    count: str | None = None


@dataclass
class TransactionFile:
    """A file loaded into DuckDB: ``transactions`` (an Ibis table with the TRANSACTIONS columns),
    ``customer_keys`` (``customer_id`` code -> the file's ``customer_key`` text), and counts."""

    transactions: Any
    customer_keys: Any
    rows: int
    transactions_count: int
    first_day: dt.date
    last_day: dt.date


@dataclass(frozen=True)
class FileFacts:
    """What reading a file found: its rows, the transactions they stand for (rows times counts)
    and the first and last days with transactions."""

    rows: int
    transactions_count: int
    first_day: dt.date
    last_day: dt.date


def file_format(path: Path) -> str:
    """``csv`` or ``parquet`` by the file's name, or ``FileProblem`` if it is neither or absent."""
    if not path.exists():
        raise FileProblem(f"{path}: no such file")
    if path.is_dir():
        raise FileProblem(f"{path}: is a directory, not a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise FileProblem(f"{path}: the file is empty")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        with path.open("rb") as handle:
            head = handle.read(4)
        if head == b"PAR1":
            return "parquet"
        raise FileProblem(f"{path}: not a CSV or Parquet file (name it .csv or .parquet)")
    return kind


def estimated_rows(path: Path | str, duck: Any) -> int:
    """About how many rows the file has, without reading it: a Parquet file's footer says (read
    by the DuckDB connection ``duck``), a CSV's size is divided by the mean length of its first
    lines (0 if the file is unreadable)."""
    path = Path(path)
    try:
        kind = file_format(path)
        if kind == "parquet":
            found = duck.execute(
                f"SELECT sum(num_rows) FROM parquet_file_metadata({_literal(str(path))})"
            ).fetchone()
            return int(found[0] or 0) if found else 0
        with path.open("rb") as handle:
            head = handle.read(1 << 20)
    except Exception:  # DuckDB raises many kinds for an unreadable file
        return 0
    lines = head.count(b"\n")
    return int(path.stat().st_size * lines / len(head)) if lines else 1


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(kind: str, path: Path, *, varchar: bool = False) -> str:
    if kind == "parquet":
        return f"read_parquet({_literal(str(path))})"
    options = ", all_varchar = true" if varchar else ""
    return f"read_csv({_literal(str(path))}, header = true{options})"


def _columns(con: Any, kind: str, path: Path) -> dict[str, str]:
    """The file's columns and their DuckDB types (CSV columns as sniffed)."""
    try:
        described = con.sql(f"DESCRIBE SELECT * FROM {_source(kind, path)}").fetchall()
    except Exception as exc:  # DuckDB raises many kinds for an unreadable file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileProblem(f"{path}: cannot be read as {kind.upper()}: {first}") from exc
    return {str(row[0]): str(row[1]) for row in described}


def _check_columns(path: Path, present: dict[str, str], columns: FileColumns) -> None:
    wanted = [
        ("--customer-col", columns.customer),
        ("--date-col", columns.date),
        ("--amount-col", columns.amount),
    ]
    if columns.count is not None:
        wanted.append(("--count-col", columns.count))
    for option, name in wanted:
        if name not in present:
            listed = ", ".join(present) or "none"
            raise FileProblem(f"{path}: no column {name!r} ({option}); the columns are: {listed}")


INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
NUMBER_TYPES = (*INTEGER_TYPES, "UBIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
DATE_TYPES = ("DATE", "TIMESTAMP")


def _is(type_name: str, kinds: tuple[str, ...]) -> bool:
    return type_name.split("(")[0].strip() in kinds or any(
        type_name.startswith(kind + " ") for kind in kinds
    )


def _fast_source(kind: str, path: Path, present: dict[str, str], columns: FileColumns) -> str:
    """The file with the wanted columns converted while reading (fails on the first bad value)."""
    if kind == "parquet":
        return _source(kind, path)
    wanted = {
        columns.customer: "BIGINT" if _is(present[columns.customer], INTEGER_TYPES) else "VARCHAR",
        columns.date: present[columns.date]
        if _is(present[columns.date], DATE_TYPES)
        else "TIMESTAMP",
        columns.amount: "DOUBLE",
    }
    if columns.count is not None:
        wanted[columns.count] = "DOUBLE"
    spec = ", ".join(f"{_literal(name)}: {_literal(type_)}" for name, type_ in wanted.items())
    return f"read_csv({_literal(str(path))}, header = true, types = {{{spec}}})"


def _fast_select(columns: FileColumns, integer_keys: bool) -> str:
    key = _quote(columns.customer)
    parts = [
        f"CAST({key} AS BIGINT)" if integer_keys else f"CAST({key} AS VARCHAR)",
        f"CAST({_quote(columns.date)} AS TIMESTAMP)",
        f"CAST({_quote(columns.amount)} AS DOUBLE)",
        f"CAST({_quote(columns.count)} AS DOUBLE)" if columns.count else "CAST(NULL AS DOUBLE)",
    ]
    names = ("customer_key", "ts", "amount", "n")
    return ", ".join(f"{part} AS {name}" for part, name in zip(parts, names, strict=True))


def _careful_select(columns: FileColumns, date_type: str) -> str:
    """Every wanted column as text beside its TRY_CAST, so a bad value can be found and shown."""
    key, date, amount = _quote(columns.customer), _quote(columns.date), _quote(columns.amount)
    ts = (
        f"CAST({date} AS TIMESTAMP)"
        if _is(date_type, DATE_TYPES)
        else f"TRY_CAST({date} AS TIMESTAMP)"
    )
    count = _quote(columns.count) if columns.count else "CAST(NULL AS VARCHAR)"
    return (
        f"CAST({key} AS VARCHAR) AS customer_key, {ts} AS ts, "
        f"TRY_CAST({amount} AS DOUBLE) AS amount, TRY_CAST({count} AS DOUBLE) AS n, "
        f"CAST({date} AS VARCHAR) AS date_text, CAST({amount} AS VARCHAR) AS amount_text, "
        f"CAST({count} AS VARCHAR) AS count_text"
    )


def _row_label(kind: str, rowid: int) -> str:
    row = rowid + 1
    return f"row {row} (line {row + 1})" if kind == "csv" else f"row {row}"


Check = tuple[str, str, str | None]


def _checks(columns: FileColumns, careful: bool) -> list[Check]:
    """(condition on ``raw``, message, text of the value) for every way a row can be unusable.

    The fast read keeps no text: a null there was an empty cell (a bad value would have failed the
    read). The careful read keeps each cell's text beside its conversion.
    """
    date_text = "date_text" if careful else "NULL"
    amount_text = "amount_text" if careful else "NULL"
    count_text = "count_text" if careful else "CAST(n AS VARCHAR)"
    checks: list[Check] = [
        ("customer_key IS NULL", f"the customer ({columns.customer}) is empty", None),
        (f"ts IS NULL AND {date_text} IS NULL", f"the date ({columns.date}) is empty", None),
        (
            "ts IS NULL",
            f"the date ({columns.date}) {{value}} is not a date "
            "(write dates as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)",
            date_text,
        ),
        (
            f"amount IS NULL AND {amount_text} IS NULL",
            f"the amount ({columns.amount}) is empty",
            None,
        ),
        ("amount IS NULL", f"the amount ({columns.amount}) {{value}} is not a number", amount_text),
    ]
    if columns.count is not None:
        checks += [
            (
                f"n IS NULL AND {count_text} IS NULL",
                f"the count ({columns.count}) is empty",
                None,
            ),
            ("n IS NULL", f"the count ({columns.count}) {{value}} is not a number", count_text),
            ("n < 0", f"the count ({columns.count}) {{value}} is negative", count_text),
        ]
    return checks


def _first_problem(con: Any, kind: str, path: Path, checks: list[Check], row: str) -> FileProblem:
    """The problem of the earliest unusable row of ``raw`` (the first check it fails)."""
    condition = " OR ".join(f"({c})" for c, _, _ in checks)
    texts = ", ".join(text or "NULL" for _, _, text in checks)
    cases = ", ".join(f"coalesce({c}, false)" for c, _, _ in checks)
    found = con.execute(
        f"SELECT {row}, [{cases}], [{texts}] FROM raw WHERE {condition} ORDER BY {row} LIMIT 1"
    ).fetchone()
    assert found is not None
    rowid, failed, values = found
    index = failed.index(True)
    value = values[index]
    message = checks[index][1].format(value=repr(value) if value is not None else "")
    return FileProblem(f"{path}: {_row_label(kind, rowid)}: {message}")


def _native(present: dict[str, str], columns: FileColumns) -> bool:
    """Whether a Parquet file's columns already have usable types (no text to convert)."""
    numbers = [present[columns.amount]] + ([present[columns.count]] if columns.count else [])
    return _is(present[columns.date], DATE_TYPES) and all(_is(t, NUMBER_TYPES) for t in numbers)


def _metadata_stats(
    duck: Any, path: Path, present: dict[str, str], columns: FileColumns
) -> tuple[int, int, dt.date, dt.date, bool] | None:
    """(rows, transactions, first day, last day, unusable) from the Parquet footer alone, or None
    when the footer cannot vouch for the file.

    Every row group's statistics must give null counts of 0 for the customer, date and amount
    columns and exact date bounds; then no row is unusable and the first and last days are the
    bounds, without reading the data. Dates with a time zone are left to the scan (their day
    depends on the session's zone). A file without rows or with gaps in its statistics is
    scanned, so its problems are named as usual.
    """
    if present[columns.date] not in (
        "DATE",
        "TIMESTAMP",
        "TIMESTAMP_S",
        "TIMESTAMP_MS",
        "TIMESTAMP_NS",
    ):
        return None
    names = (columns.customer, columns.date, columns.amount)
    found = duck.execute(
        "SELECT count(DISTINCT row_group_id), count(*), "
        "sum(row_group_num_rows) FILTER (path_in_schema = $date), "
        "bool_and(stats_null_count = 0), "
        "bool_and(min_is_exact AND max_is_exact) FILTER (path_in_schema = $date), "
        "min(TRY_CAST(stats_min_value AS TIMESTAMP)) FILTER (path_in_schema = $date), "
        "max(TRY_CAST(stats_max_value AS TIMESTAMP)) FILTER (path_in_schema = $date), "
        "count(*) FILTER (path_in_schema = $date AND (stats_min_value IS NULL OR "
        "stats_max_value IS NULL OR TRY_CAST(stats_min_value AS TIMESTAMP) IS NULL OR "
        "TRY_CAST(stats_max_value AS TIMESTAMP) IS NULL)) "
        f"FROM parquet_metadata({_literal(str(path))}) "
        "WHERE path_in_schema IN ($customer, $date, $amount)",
        {"customer": names[0], "date": names[1], "amount": names[2]},
    ).fetchone()
    if found is None:
        return None
    groups, entries, rows, no_nulls, exact, first, last, unreadable = found
    # one entry per wanted column and row group (a column name shared with a nested field, or
    # the same column named twice, would break the count)
    if not groups or entries != groups * len(set(names)) or not rows:
        return None
    if not no_nulls or not exact or unreadable or first is None or last is None:
        return None
    return int(rows), int(rows), first.date(), last.date(), False


def _read_table(
    duck: Any,
    kind: str,
    path: Path,
    present: dict[str, str],
    columns: FileColumns,
    integer_keys: bool,
) -> bool:
    """Copy the file into the table ``raw``, converting while reading; if a value does not
    convert, read it again as text beside TRY_CASTs and return True (the careful read)."""
    select = _fast_select(columns, integer_keys)
    if columns.count is None:
        # no count column: keep the always-null n out of the table (a view adds it back)
        select = select.replace(", CAST(NULL AS DOUBLE) AS n", "")
    try:
        duck.execute(
            f"CREATE OR REPLACE TEMP TABLE raw_rows AS SELECT {select} "
            f"FROM {_fast_source(kind, path, present, columns)}"
        )
        duck.execute(
            "CREATE OR REPLACE TEMP VIEW raw AS SELECT rowid, *"
            f"{', CAST(NULL AS DOUBLE) AS n' if columns.count is None else ''} FROM raw_rows"
        )
    except Exception as exc:  # a value that does not convert: read again as text and find it
        if "Conversion" not in type(exc).__name__ and "Conversion" not in str(exc)[:40]:
            raise FileProblem(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from exc
        careful_select = _careful_select(columns, present[columns.date])
        duck.execute("DROP VIEW IF EXISTS raw")
        duck.execute(
            f"CREATE OR REPLACE TEMP TABLE raw AS SELECT {careful_select} "
            f"FROM {_source(kind, path, varchar=True)}"
        )
        return True
    return False


def load_transactions(con: Any, path: Path | str, columns: FileColumns) -> TransactionFile:
    """Read ``path`` into the DuckDB connection of ``con`` (an Ibis DuckDB backend) as
    ``read_transactions`` does, and return its ``transactions`` and ``customer_keys`` as Ibis
    tables. ``FileProblem`` names the first thing wrong with the file."""
    facts = read_transactions(con.con, path, columns)
    return TransactionFile(
        transactions=con.table("transactions"),
        customer_keys=con.table("customer_keys"),
        rows=facts.rows,
        transactions_count=facts.transactions_count,
        first_day=facts.first_day,
        last_day=facts.last_day,
    )


def read_transactions(duck: Any, path: Path | str, columns: FileColumns) -> FileFacts:
    """Read ``path`` into the plain DuckDB connection ``duck``: the temporary table or view
    ``raw`` as read, ``customer_keys`` (code -> the file's id) and ``transactions`` in the
    TRANSACTIONS shape. ``FileProblem`` names the first thing wrong with the file."""
    path = Path(path)
    kind = file_format(path)
    present = _columns(duck, kind, path)
    _check_columns(path, present, columns)
    integer_keys = _is(present[columns.customer], INTEGER_TYPES)
    careful = False
    row = "rowid"
    if kind == "parquet" and _native(present, columns):
        # Parquet keeps its types: read it in place (the summary reads it twice, which is still
        # cheaper than a copy), rows numbered by the reader
        row = "file_row"
        duck.execute(
            f"CREATE OR REPLACE TEMP VIEW raw AS SELECT {_fast_select(columns, integer_keys)}, "
            f"file_row_number AS file_row FROM read_parquet({_literal(str(path))}, "
            "file_row_number = true)"
        )
    else:
        careful = _read_table(duck, kind, path, present, columns, integer_keys)
        integer_keys = integer_keys and not careful
    checks = _checks(columns, careful)
    stats = None
    if row == "file_row" and columns.count is None:
        stats = _metadata_stats(duck, path, present, columns)
    if stats is None:
        bad = " OR ".join(f"coalesce({c}, false)" for c, _, _ in checks)
        stats = duck.execute(
            "SELECT count(*), CAST(sum(coalesce(n, 1)) AS BIGINT), "
            "min(ts) FILTER (n IS NULL OR n > 0)::DATE, "
            f"max(ts) FILTER (n IS NULL OR n > 0)::DATE, bool_or({bad}) FROM raw"
        ).fetchone()
    assert stats is not None
    rows, count, first_day, last_day, unusable = stats
    if rows == 0:
        raise FileProblem(f"{path}: the file is empty: it has no rows of data")
    if unusable:
        raise _first_problem(duck, kind, path, checks, row)
    if not count:
        raise FileProblem(f"{path}: every row has a count of 0; there are no transactions")
    if integer_keys:
        # the file's ids are the codes; the transactions are a view, nothing is copied
        duck.execute(
            "CREATE OR REPLACE TEMP VIEW customer_keys AS SELECT DISTINCT customer_key AS "
            "customer_id, CAST(customer_key AS VARCHAR) AS customer_key FROM raw"
        )
        duck.execute(
            "CREATE OR REPLACE TEMP VIEW transactions AS SELECT customer_key AS customer_id, "
            f"CAST({row} + 1 AS BIGINT) AS order_id, ts, amount, CAST(0 AS DOUBLE) AS cost, "
            "CAST(NULL AS VARCHAR) AS channel FROM raw WHERE n IS NULL OR n > 0"
        )
    else:
        duck.execute(
            "CREATE OR REPLACE TEMP TABLE customer_keys AS SELECT CAST(row_number() OVER "
            "(ORDER BY customer_key) - 1 AS BIGINT) AS customer_id, customer_key "
            "FROM (SELECT DISTINCT customer_key FROM raw)"
        )
        # materialised: the summary reads the transactions more than once
        duck.execute(
            "CREATE OR REPLACE TEMP TABLE transactions AS SELECT k.customer_id, "
            f"CAST(raw.{row} + 1 AS BIGINT) AS order_id, ts, amount, CAST(0 AS DOUBLE) AS cost, "
            "CAST(NULL AS VARCHAR) AS channel FROM raw JOIN customer_keys AS k USING "
            "(customer_key) WHERE n IS NULL OR n > 0"
        )
    return FileFacts(rows, count, first_day, last_day)
