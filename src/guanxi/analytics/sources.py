"""The operational store as analysis input: orders, order lines, pipeline history, interactions,
service tickets with their surveys and web behaviour events read as Arrow through ADBC (SQLite
and PostgreSQL drivers), in the shapes of ``inputs``.

ADBC reads columns straight into Arrow without a Python object per value, which is what makes a
multi-million-row transaction log cheap to hand to DuckDB or Spark. It opens its own connection,
so it sees committed data only: scoring runs read what was there when they started. On SQLite
the read runs in a child process (``sqlite_reader`` says why).

The SQL is built with SQLAlchemy Core from the models and compiled for the store's dialect, so
the definition of "an order that counts" lives here once, whatever reads it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Float, Select, and_, case, cast, func, literal, select
from sqlalchemy.engine import Engine, make_url

from guanxi.analytics import inputs
from guanxi.analytics.funnel import STAGE_CHANGES, STAGES
from guanxi.interactions.models import Interaction, WebEvent
from guanxi.sales.models import (
    OpportunityStageChange,
    Order,
    OrderLine,
    PipelineStage,
    Product,
)
from guanxi.service_desk.models import Survey, Ticket

# orders that never became a sale: a draft is not an order yet, a cancelled one was undone
NOT_SALES = ("draft", "cancelled")


@contextmanager
def adbc_connection(engine: Engine) -> Iterator[Any]:
    """An ADBC DB-API connection to the same PostgreSQL database as the SQLAlchemy ``engine``."""
    from adbc_driver_postgresql import dbapi as postgres_dbapi

    plain = make_url(engine.url).set(drivername="postgresql")
    connection = postgres_dbapi.connect(plain.render_as_string(hide_password=False))
    try:
        yield connection
    finally:
        connection.close()


def read_arrow(engine: Engine, statement: Select) -> pa.Table:
    """Run a Core select through ADBC and return its rows as one Arrow table."""
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    if engine.url.get_backend_name() == "sqlite":
        return _read_sqlite(engine.url.database or ":memory:", sql)
    with adbc_connection(engine) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetch_arrow_table()


def _read_sqlite(database: str, sql: str) -> pa.Table:
    # ADBC's own SQLite must not share this process with Python's (see sqlite_reader)
    with tempfile.TemporaryDirectory(prefix="guanxi-adbc-") as directory:
        out = os.path.join(directory, "rows.arrow")
        done = subprocess.run(  # noqa: S603 - our own module, arguments are paths
            [sys.executable, "-m", "guanxi.analytics.sqlite_reader", database, out],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"reading the store failed: {done.stderr.strip()[-500:]}")
        with pa.memory_map(out) as source:
            return pa.ipc.open_file(source).read_all()


def local_times(column: pa.ChunkedArray | pa.Array, timezone: str) -> pa.Array:
    """UTC instants (aware, or naive UTC text/timestamps as SQLite keeps them) as naive
    wall-clock times in ``timezone``, so that a purchase's day is the company's day."""
    if len(column) == 0 or pa.types.is_null(column.type):
        # SQLite cannot type the columns of an empty result (ADBC guesses int64 or null)
        return pa.nulls(len(column), pa.timestamp("us"))
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = column.cast(pa.timestamp("us"))
    if column.type.tz is None:
        column = pc.assume_timezone(column, "UTC")
    ZoneInfo(timezone)  # fail early, and clearly, on a bad zone name
    return pc.local_timestamp(column.cast(pa.timestamp("us", tz=timezone)))


def _with_local_ts(table: pa.Table, timezone: str, schema: pa.Schema) -> pa.Table:
    index = table.column_names.index("ts")
    table = table.set_column(index, "ts", local_times(table.column("ts"), timezone))
    return inputs.conform(table, schema)


def _sales() -> Any:
    return Order.status.not_in(NOT_SALES)


def transactions_query(customer_ids: Select[Any] | None = None) -> Select[Any]:
    """One row per sale: net amount (total less refunds) and the cost of the goods kept."""
    statement = select(
        Order.customer_id.label("customer_id"),
        Order.id.label("order_id"),
        Order.ordered_at.label("ts"),
        cast(Order.total - Order.refunded, Float).label("amount"),
        cast(Order.cost_total, Float).label("cost"),
        Order.channel.label("channel"),
    ).where(_sales())
    if customer_ids is not None:
        statement = statement.where(Order.customer_id.in_(customer_ids))
    return statement


def lines_query(customer_ids: Select[Any] | None = None) -> Select[Any]:
    """One row per order line of a catalogue product, net of returned quantities; the amount is
    the line's net price scaled to what was kept."""
    kept = OrderLine.quantity - OrderLine.returned_quantity
    gross = OrderLine.quantity * OrderLine.unit_price - OrderLine.discount
    share = case((OrderLine.quantity > 0, kept / OrderLine.quantity), else_=literal(0))
    statement = (
        select(
            Order.customer_id.label("customer_id"),
            Order.id.label("order_id"),
            Order.ordered_at.label("ts"),
            OrderLine.product_id.label("product_id"),
            func.coalesce(Product.category, "").label("category"),
            cast(kept, Float).label("quantity"),
            cast(gross * share, Float).label("amount"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(and_(_sales(), kept > 0))
    )
    if customer_ids is not None:
        statement = statement.where(Order.customer_id.in_(customer_ids))
    return statement


def transactions(
    engine: Engine, *, timezone: str, customer_ids: Select[Any] | None = None
) -> pa.Table:
    """The transaction log (``inputs.TRANSACTIONS``), optionally for some customers only."""
    return _with_local_ts(
        read_arrow(engine, transactions_query(customer_ids)), timezone, inputs.TRANSACTIONS
    )


def lines(engine: Engine, *, timezone: str, customer_ids: Select[Any] | None = None) -> pa.Table:
    """Order lines (``inputs.LINES``) of sales, for categories, recommendations and rules."""
    return _with_local_ts(read_arrow(engine, lines_query(customer_ids)), timezone, inputs.LINES)


def stage_changes(engine: Engine, *, timezone: str) -> pa.Table:
    """Every move of every opportunity between pipeline stages (for funnel helpers)."""
    table = read_arrow(
        engine,
        select(
            OpportunityStageChange.opportunity_id.label("opportunity_id"),
            OpportunityStageChange.from_stage_id.label("from_stage_id"),
            OpportunityStageChange.to_stage_id.label("to_stage_id"),
            OpportunityStageChange.changed_at.label("ts"),
            cast(OpportunityStageChange.seconds_in_stage, Float).label("seconds_in_stage"),
        ),
    )
    index = table.column_names.index("ts")
    table = table.set_column(index, "changed_at", local_times(table.column("ts"), timezone))
    return inputs.conform(table, STAGE_CHANGES)


def stages(engine: Engine) -> pa.Table:
    """The pipeline's stages in order, with which ones close as won or lost."""
    table = read_arrow(
        engine,
        select(
            PipelineStage.id.label("stage_id"),
            PipelineStage.position.label("position"),
            PipelineStage.label.label("name"),
            (PipelineStage.outcome == "won").label("is_won"),
            (PipelineStage.outcome == "lost").label("is_lost"),
        ),
    )
    return inputs.conform(table, STAGES)


def interactions_query() -> Select[*tuple[Any, ...]]:
    """One row per touchpoint; ``kind`` is how it was logged (manual, follow_up, email_out,
    email_in, api), so a campaign's contacts can say ``marketing`` once campaigns log them."""
    return select(
        Interaction.customer_id.label("customer_id"),
        Interaction.occurred_at.label("ts"),
        Interaction.channel.label("channel"),
        Interaction.direction.label("direction"),
        Interaction.source.label("kind"),
    )


def web_events_query() -> Select[Any]:
    """Page and product views of known customers (an anonymous visitor's count once linked)."""
    return select(
        WebEvent.customer_id.label("customer_id"),
        WebEvent.occurred_at.label("ts"),
        WebEvent.product_id.label("product_id"),
        WebEvent.kind.label("kind"),
        cast(WebEvent.dwell_seconds, Float).label("dwell_seconds"),
    ).where(WebEvent.customer_id.is_not(None))


def interactions(engine: Engine, *, timezone: str) -> pa.Table:
    """Every logged touchpoint (``inputs.INTERACTIONS``), e.g. for cost to serve."""
    return _with_local_ts(read_arrow(engine, interactions_query()), timezone, inputs.INTERACTIONS)


def web_events(engine: Engine, *, timezone: str) -> pa.Table:
    """Web behaviour of known customers (``inputs.EVENTS``): product views weigh in the
    recommendations."""
    return _with_local_ts(read_arrow(engine, web_events_query()), timezone, inputs.EVENTS)


def tickets_query() -> Select[Any]:
    """One row per ticket (merged duplicates left out) with when it was first answered and its
    survey's CSAT and NPS, if answered."""
    return (
        select(
            Ticket.customer_id.label("customer_id"),
            Ticket.created_at.label("ts"),
            Ticket.kind.label("kind"),
            Ticket.first_responded_at.label("responded_at"),
            cast(Survey.csat, Float).label("satisfaction"),
            cast(Survey.nps, Float).label("nps"),
        )
        .outerjoin(Survey, and_(Survey.ticket_id == Ticket.id, Survey.answered_at.is_not(None)))
        .where(Ticket.merged_into_id.is_(None))
    )


def tickets(engine: Engine, *, timezone: str) -> pa.Table:
    """Service tickets (``inputs.TICKETS``): complaints, hours to the first response (wall
    clock; empty while unanswered) and satisfaction, for the churn model and cost to serve."""
    table = read_arrow(engine, tickets_query())
    opened = local_times(table.column("ts"), timezone)
    responded = local_times(table.column("responded_at"), timezone)
    waited = pc.subtract(responded.cast(pa.timestamp("us")), opened.cast(pa.timestamp("us")))
    hours = pc.divide(waited.cast(pa.int64()).cast(pa.float64()), 3_600_000_000.0)
    table = table.append_column("first_response_hours", hours)
    table = table.set_column(table.column_names.index("ts"), "ts", opened)
    return inputs.conform(table, inputs.TICKETS)
