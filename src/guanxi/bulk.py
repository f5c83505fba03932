"""Inserting many rows in one transaction, at close to the store's own speed.

SQLAlchemy's executemany spends about 10 us of Python per row (parameter dictionaries rebuilt and
processed per row), which at tens of thousands of rows a second is a large share of an import.
``insert_many`` applies the columns' own bind processors (JSON, dates, ``GramList``) and Python
defaults exactly as SQLAlchemy would, then hands the rows to the driver as:

- SQLite: multi-row ``INSERT ... VALUES (...), (...)`` statements of up to the variable limit.
  One statement per row would also make the customers' full-text triggers flush their index
  after every row (FTS5 writes its pending terms at each statement's savepoint);
- PostgreSQL: ``COPY ... FROM STDIN`` through psycopg, in the connection's transaction.

Rows are written as given: the caller supplies ids where it needs them back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table

# SQLite's limit on host parameters per statement (32766 since 3.32, 999 before)
_SQLITE_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def insert_many(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    serialized: Collection[str] = (),
) -> None:
    """Insert ``rows`` (dictionaries with the same keys) into ``table`` in the connection's
    transaction. Columns a row leaves out get their Python default, as with ``insert()``;
    JSON columns named in ``serialized`` are given as JSON text already."""
    if not rows:
        return
    dialect = connection.dialect
    names = list(rows[0])
    defaults: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if column.name in rows[0] or default is None or getattr(default, "is_sequence", False):
            continue
        if default.is_scalar:
            defaults[column.name] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            defaults[column.name] = default.arg(None)  # type: ignore[attr-defined]
    columns = [table.c[name] for name in (*names, *defaults)]
    processors: list[Callable[[Any], Any] | None] = [
        None if column.name in serialized else column.type._cached_bind_processor(dialect)
        for column in columns
    ]
    fixed = [
        processor(value) if processor else value
        for processor, value in zip(processors[len(names) :], defaults.values(), strict=True)
    ]
    if any(len(row) != len(names) for row in rows):
        raise ValueError(f"rows for {table.name} must all have the same columns")
    # column by column, with C-level helpers: a per-value Python loop cost more than the store
    # took to write the rows
    get = itemgetter(*names)
    picked: list[Any] = list(map(get, rows)) if len(names) > 1 else [(get(r),) for r in rows]
    if any(processors[: len(names)]):
        by_column: list[Any] = list(zip(*picked, strict=True))
        for i, processor in enumerate(processors[: len(names)]):
            if processor is not None:
                by_column[i] = list(map(processor, by_column[i]))
        picked = list(zip(*by_column, strict=True))
    values = [(*row, *fixed) for row in picked] if fixed else picked
    quoted = ", ".join(dialect.identifier_preparer.quote(column.name) for column in columns)
    target = dialect.identifier_preparer.format_table(table)
    if dialect.name == "postgresql":
        _copy(connection, f"COPY {target} ({quoted}) FROM STDIN", values)
        return
    width = len(columns)
    per_statement = max(1, _SQLITE_VARIABLES // width)
    one_row = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        # names come from the table's own metadata, values are bound: nothing is interpolated
        sql = f"INSERT INTO {target} ({quoted}) VALUES " + ", ".join([one_row] * len(chunk))  # noqa: S608
        connection.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))


def _copy(connection: Connection, sql: str, values: list[tuple[Any, ...]]) -> None:
    driver: Any = connection.connection.dbapi_connection
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for row in values:
            copy.write_row(row)
