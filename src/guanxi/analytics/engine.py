"""Where analyses run: one Ibis backend, DuckDB in-process by default or Spark in local or cluster
mode. Every analysis takes Ibis tables and returns Ibis expressions, so the same function gives the
same result on both; this module only opens the backend, loads data into it and brings results back
as Arrow.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import pyarrow as pa
from ibis.expr.types import Table

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "spark")


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot start here (Spark without pyspark or Java); says what to install."""


@dataclass
class Engine:
    """An open Ibis backend plus the names of the tables this engine loaded."""

    name: EngineName
    backend: Any
    _spark: Any = None
    _loaded: list[str] = field(default_factory=list)

    def table(self, data: pa.Table | Path | str, name: str | None = None) -> Table:
        """An Ibis table over Arrow data or a CSV/Parquet file, left where it is when possible.

        Arrow tables become temporary tables (DuckDB) or temporary views (Spark), so nothing is
        written to a warehouse directory and nothing outlives the engine.
        """
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self._loaded.append(name)
        if isinstance(data, pa.Table):
            if self.name == "duckdb":
                return self.backend.create_table(name, data, temp=True)
            frame = self._spark.createDataFrame(data) if data.num_rows else self._empty(data)
            frame.createOrReplaceTempView(name)
            return self.backend.table(name)
        path = Path(data)
        reader = self.backend.read_parquet if path.suffix.lower() == ".parquet" else None
        if reader is None:
            return self.backend.read_csv(str(path), table_name=name)
        return reader(str(path), table_name=name)

    def _empty(self, data: pa.Table) -> Any:
        # Spark cannot infer a schema from zero Arrow rows; give it the Arrow schema's DDL
        from pyspark.sql.pandas.types import from_arrow_schema

        return self._spark.createDataFrame([], from_arrow_schema(data.schema))

    def to_arrow(self, expr: Any) -> pa.Table:
        """Run an expression and return its rows as Arrow."""
        return self.backend.to_pyarrow(expr)

    def close(self) -> None:
        if self.name == "duckdb":
            self.backend.disconnect()
            return
        for name in self._loaded:
            self._spark.catalog.dropTempView(name)
        self._loaded.clear()


def _duckdb(threads: int | None, memory_limit: str | None) -> Engine:
    config: dict[str, Any] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    return Engine("duckdb", ibis.duckdb.connect(**config))


def spark_session(master: str | None = None) -> Any:
    """The process's Spark session (one per process, as Spark wants), in UTC with a small footprint.

    ``GUANXI_SPARK_MASTER`` points at a cluster; the default is local mode on every core.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineUnavailable(
            "the Spark engine needs PySpark: pip install 'guanxi[spark]' (and Java 17)"
        ) from exc
    master = master or os.environ.get("GUANXI_SPARK_MASTER", "local[*]")
    builder = (
        SparkSession.builder.master(master)
        .appName("guanxi-analytics")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("GUANXI_SPARK_PARTITIONS", "8"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("GUANXI_SPARK_DRIVER_MEMORY", "4g"))
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: no Java, or a bad master URL
        raise EngineUnavailable(f"Spark did not start: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark(master: str | None) -> Engine:
    session = spark_session(master)
    return Engine("spark", ibis.pyspark.connect(session), _spark=session)


def connect(
    name: str = "duckdb",
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
    spark_master: str | None = None,
) -> Engine:
    """Open an engine by name: ``duckdb`` (in-process, the default) or ``spark``."""
    if name == "duckdb":
        return _duckdb(threads, memory_limit)
    if name == "spark":
        return _spark(spark_master)
    raise EngineUnavailable(f"unknown analytics engine {name!r}; choose duckdb or spark")


@contextmanager
def opened(name: str = "duckdb", **options: Any) -> Iterator[Engine]:
    """``connect`` as a context manager that drops what it loaded on the way out."""
    engine = connect(name, **options)
    try:
        yield engine
    finally:
        engine.close()
