"""Read a SQLite query into an Arrow IPC file with ADBC, in a process of its own.

Why a child process: the ADBC driver links its own copy of SQLite. Two SQLite libraries in one
process do not share their POSIX lock bookkeeping, so when ADBC closes the database file the
kernel drops the locks that Python's ``sqlite3`` connections (the application's pool) still hold
on it, and the next write fails with "disk I/O error" (SQLite's documentation warns against two
copies of the library in one program). A child process has locks of its own.

Usage (by ``sources.read_arrow``): ``python -m guanxi.analytics.sqlite_reader DB OUT`` with the
SQL on stdin. Imports nothing from Guanxi, so it starts in a fraction of a second.
"""

from __future__ import annotations

import sys

import pyarrow as pa
from adbc_driver_sqlite import dbapi


def main(database: str, out: str, sql: str) -> None:
    with dbapi.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    with pa.OSFile(out, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.stdin.read())
