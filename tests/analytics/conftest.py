"""Fixtures for the analytics tests: every analysis runs on DuckDB and on Spark (local mode) and
must give the same result on both. Spark needs Java; without it the Spark half is skipped locally
and fails under ``GUANXI_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest

from guanxi.analytics import engine as engines
from tests.conftest import skip_or_fail


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[engines.Engine]:
    """One Spark session for the whole run (starting the JVM takes seconds)."""
    if shutil.which("java") is None:
        skip_or_fail("Java is not installed (.ci/run installs openjdk-17-jre-headless)")
    try:
        engine = engines.connect("spark", spark_master="local[2]")
    except engines.EngineUnavailable as exc:
        skip_or_fail(str(exc))
    yield engine
    engine.close()


@pytest.fixture
def duckdb_engine() -> Iterator[engines.Engine]:
    engine = engines.connect("duckdb")
    yield engine
    engine.close()


def _rows(table: pa.Table, sort_by: list[str]) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    return sorted(rows, key=lambda row: tuple(_sortable(row[key]) for key in sort_by))


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


def _same(left: Any, right: Any, path: str) -> None:
    if isinstance(left, float) and isinstance(right, float | int):
        if math.isnan(left):
            assert math.isnan(right), path
            return
        assert math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {left} != {right}"
    elif isinstance(left, list) and isinstance(right, list):
        assert len(left) == len(right), f"{path}: {left} != {right}"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            _same(a, b, f"{path}[{index}]")
    elif isinstance(left, dict) and isinstance(right, dict):
        assert left.keys() == right.keys(), f"{path}: columns {left.keys()} != {right.keys()}"
        for key in left:
            _same(left[key], right[key], f"{path}.{key}")
    else:
        assert left == right, f"{path}: {left!r} != {right!r}"


@dataclass
class BothEngines:
    """Runs one analysis on DuckDB and on Spark and checks that the two agree."""

    duckdb: engines.Engine
    spark: engines.Engine

    def run(
        self, build: Callable[[engines.Engine], Any], *, sort_by: list[str] | str
    ) -> list[dict[str, Any]]:
        """``build(engine)`` returns an Ibis expression; the rows (sorted) are the same on both.

        Returns the DuckDB rows as dictionaries, sorted by ``sort_by``.
        """
        keys = [sort_by] if isinstance(sort_by, str) else list(sort_by)
        on_duckdb = _rows(self.duckdb.to_arrow(build(self.duckdb)), keys)
        on_spark = _rows(self.spark.to_arrow(build(self.spark)), keys)
        assert len(on_duckdb) == len(on_spark), "DuckDB and Spark return different row counts"
        for index, (a, b) in enumerate(zip(on_duckdb, on_spark, strict=True)):
            _same(a, b, f"row {index}")
        return on_duckdb


@pytest.fixture
def both(duckdb_engine: engines.Engine, spark_engine: engines.Engine) -> BothEngines:
    return BothEngines(duckdb_engine, spark_engine)
