"""The stores every benchmark runs on: SQLite in a scratch folder, and PostgreSQL in a scratch
database (created and dropped per run) when GUANXI_BENCH_POSTGRES_URL or GUANXI_TEST_POSTGRES_URL
names a server where databases can be created."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def postgres_url() -> str:
    return os.environ.get("GUANXI_BENCH_POSTGRES_URL") or os.environ.get(
        "GUANXI_TEST_POSTGRES_URL", ""
    )


def backends() -> list[str]:
    return ["sqlite"] + (["postgresql"] if postgres_url() else [])


@contextmanager
def scratch_database(backend: str, directory: Path, name: str = "bench") -> Iterator[str]:
    """A database URL to fill and measure; a PostgreSQL database is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'{name}.sqlite3'}"
        return
    admin_url = make_url(postgres_url()).set(drivername="postgresql+psycopg")
    database = f"guanxi_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(
                f"CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8' "
                "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            )
        )
    try:
        yield admin_url.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()
