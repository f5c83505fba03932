"""The two SQL expressions the funnel needs that SQLite and PostgreSQL spell differently: days
between two timestamps, and money as an exact whole number of hundredths for summing.

Both are SQLAlchemy constructs compiled per dialect, so the queries that use them are written once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it is
    """``later - earlier`` in (fractional) days."""

    type = Float()
    inherit_cache = True
    name = "days_between"

    def __init__(self, later: Any, earlier: Any) -> None:
        super().__init__(later, earlier)


@compiles(days_between)
def _days_generic(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    # PostgreSQL: an interval's length in seconds
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - "
        f"{compiler.process(earlier, **kw)})) / 86400.0)"
    )


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    # SQLite keeps timestamps as ISO text; julianday reads them as fractional days
    later_sql, earlier_sql = compiler.process(later, **kw), compiler.process(earlier, **kw)
    return f"(julianday({later_sql}) - julianday({earlier_sql}))"


class hundredths(FunctionElement[Any]):  # noqa: N801
    """A NUMERIC(18, 2) money column (or a money column times a whole number) as an exact count
    of hundredths, so that SUM over a million rows stays exact.

    SQLite stores NUMERIC as a double: its SUM would add binary fractions and drift by a cent or
    more over a million rows, so each value is rounded to a whole number of hundredths first and
    summed as a 64-bit integer. PostgreSQL's NUMERIC is exact already.
    """

    # no result conversion: SQLite answers an int, PostgreSQL an exact Decimal
    type = BigInteger()
    inherit_cache = True
    name = "hundredths"

    def __init__(self, money: Any) -> None:
        super().__init__(money)


@compiles(hundredths)
def _hundredths_generic(element: hundredths, compiler: Any, **kw: Any) -> str:
    (money,) = list(element.clauses)
    return f"({compiler.process(money, **kw)} * 100)"


@compiles(hundredths, "sqlite")
def _hundredths_sqlite(element: hundredths, compiler: Any, **kw: Any) -> str:
    (money,) = list(element.clauses)
    return f"CAST(ROUND({compiler.process(money, **kw)} * 100) AS INTEGER)"
