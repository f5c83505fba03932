"""Limit + cursor pagination: stable under inserts, cheap at any depth (keyset on the id)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from guanxi.errors import N_, InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageOut(BaseModel, Generic[T]):
    """A page of results; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput(N_("The cursor is not one this server issued.")) from exc
    if not isinstance(value, int):
        raise InvalidInput(N_("The cursor is not one this server issued."))
    return value


def paginate(
    session: Session,
    stmt: Select[Any],
    id_column: Any,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    descending: bool = False,
) -> Page[Any]:
    """Run ``stmt`` (which selects one entity) a page at a time, ordered by ``id_column``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(N_("The limit must be between 1 and {max}."), max=MAX_LIMIT)
    if cursor:
        after = decode_cursor(cursor)
        stmt = stmt.where(id_column < after if descending else id_column > after)
    stmt = stmt.order_by(id_column.desc() if descending else id_column).limit(limit + 1)
    rows = list(session.scalars(stmt).unique())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].id) if has_more and rows else None
    return Page(rows, next_cursor)


def _key_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, Decimal):  # money columns sort too; JSON has no exact decimal
        return {"dec": str(value)}
    return value


def _key_restore(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        return datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and "dec" in value:
        return Decimal(value["dec"])
    return value


def paginate_sorted(
    session: Session,
    stmt: Select[Any],
    sort_column: Any,
    id_column: Any,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    descending: bool = False,
    order_by: Any = None,
) -> Page[Any]:
    """Keyset pagination ordered by ``sort_column`` then id, so ties never repeat or skip rows.

    ``order_by`` replaces the ORDER BY expression (not the comparison), for planner hints."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(N_("The limit must be between 1 and {max}."), max=MAX_LIMIT)
    if cursor:
        after_id, after_key = _decode_sorted(cursor)
        if descending:
            stmt = stmt.where(
                or_(sort_column < after_key, and_(sort_column == after_key, id_column < after_id))
            )
        else:
            stmt = stmt.where(
                or_(sort_column > after_key, and_(sort_column == after_key, id_column > after_id))
            )
    ordered = sort_column if order_by is None else order_by
    order = (ordered.desc(), id_column.desc()) if descending else (ordered, id_column)
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)).unique())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        payload = {"after": last.id, "key": _key_value(getattr(last, sort_column.key))}
        next_cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return Page(rows, next_cursor)


def _decode_sorted(cursor: str) -> tuple[int, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, key = data["after"], _key_restore(data["key"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput(N_("The cursor is not one this server issued.")) from exc
    if not isinstance(after, int):
        raise InvalidInput(N_("The cursor is not one this server issued."))
    return after, key
