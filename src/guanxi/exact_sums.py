"""Exact sums of money in SQL, on SQLite as on PostgreSQL: every report that adds up amounts in
the database (funnel, pipeline board, contract statistics) sums whole hundredths through here.
A SQLAlchemy construct compiled per dialect, so the queries that use it are written once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


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


def from_hundredths(total: Any, places: int = 2) -> Decimal:
    """A SUM of ``hundredths`` (``places=2``) or of hundredths times a percentage (``places=4``)
    back to exact Decimal money; an empty SUM (NULL) is zero."""
    unit = Decimal(1).scaleb(-places)
    if total is None:
        return Decimal(0).quantize(unit)
    return Decimal(total).scaleb(-places).quantize(unit)
