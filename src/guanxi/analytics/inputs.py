"""The shapes analyses read: canonical Arrow schemas for transactions, order lines, interactions,
tickets and web events, and the conversion of an analyst's pandas or Polars frame into them.

Times are naive timestamps in the company's time zone (a purchase at 23:30 in Shanghai belongs to
that Shanghai day), money is float64 in the company currency. ``amount`` is what the customer paid
net of refunds, ``cost`` what the goods cost net of returned goods.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

TIMESTAMP = pa.timestamp("us")

TRANSACTIONS = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("order_id", pa.int64()),
        ("ts", TIMESTAMP),
        ("amount", pa.float64()),
        ("cost", pa.float64()),
        ("channel", pa.string()),
    ]
)
"""One row per order (the transaction log)."""

LINES = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("order_id", pa.int64()),
        ("ts", TIMESTAMP),
        ("product_id", pa.int64()),
        ("category", pa.string()),
        ("quantity", pa.float64()),
        ("amount", pa.float64()),
    ]
)
"""One row per order line, net of returned quantities."""

INTERACTIONS = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("ts", TIMESTAMP),
        ("channel", pa.string()),
        ("direction", pa.string()),
        ("kind", pa.string()),
    ]
)
"""Touchpoints; ``kind`` is ``marketing`` for marketing contacts (they count in cost to serve)."""

TICKETS = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("ts", TIMESTAMP),
        ("kind", pa.string()),
        ("first_response_hours", pa.float64()),
        ("satisfaction", pa.float64()),
        ("nps", pa.float64()),
    ]
)
"""Service tickets; ``kind`` is complaint, inquiry, suggestion or service request;
``satisfaction`` is the answered survey's CSAT (1-5) and ``nps`` its 0-10 answer."""

EVENTS = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("ts", TIMESTAMP),
        ("product_id", pa.int64()),
        ("kind", pa.string()),
        ("dwell_seconds", pa.float64()),
    ]
)
"""Web behaviour: page and product views of known customers."""


def empty(schema: pa.Schema) -> pa.Table:
    """A table with no rows in the given shape (a source the store does not hold yet)."""
    return schema.empty_table()


def to_arrow(frame: Any) -> pa.Table:
    """An Arrow table from a pandas or Polars frame or anything with ``__arrow_c_stream__``."""
    if isinstance(frame, pa.Table):
        return frame
    if hasattr(frame, "to_arrow"):  # Polars
        return frame.to_arrow()
    if hasattr(frame, "__arrow_c_stream__"):
        return pa.table(frame)
    module = type(frame).__module__
    if module.startswith("pandas"):
        return pa.Table.from_pandas(frame, preserve_index=False)
    raise TypeError(f"expected a pandas or Polars frame or an Arrow table, got {type(frame)!r}")


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` cast to ``schema``'s columns (extra columns dropped, missing optional ones null).

    Raises ``ValueError`` naming the first required column that is missing or cannot be cast.
    """
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            if field.name in ("customer_id", "ts"):
                raise ValueError(f"missing column {field.name!r}")
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            message = f"column {field.name!r} cannot be read as {field.type}: {exc}"
            raise ValueError(message) from exc
    return pa.Table.from_arrays(columns, schema=schema)
