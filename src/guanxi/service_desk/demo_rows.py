"""Writing the service desk's demo rows in bulk: ids allocated per table, batches with one
audit entry each, and the sales steps' moment that every demo date counts back from."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.customers.transfer.import_batch import allocate_ids, insert_rows
from guanxi.demo import DemoCompany

BATCH = 20_000
CHINA = timedelta(hours=8)


def table_of(model: Any) -> Table:
    table: Table = model.__table__
    return table


def sales_now(company: DemoCompany) -> datetime:
    """The sales steps' moment, which every demo date counts back from."""
    now: datetime = company.extra["sales_now"]
    return now


def write_rows(
    session: Session, model: Any, rows: list[dict[str, Any]], entity: str | None
) -> None:
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        insert_rows(session, table_of(model), chunk)
        if entity is not None:
            audit.record(
                session,
                "demo.create",
                entity,
                f"{chunk[0]['id']}-{chunk[-1]['id']}",
                {"rows": len(chunk)},
            )


def number_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for row, new_id in zip(rows, allocate_ids(session, table_of(model), len(rows)), strict=True):
        row["id"] = new_id


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]
