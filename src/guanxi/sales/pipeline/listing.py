"""Finding opportunities: the filtered, sorted, keyset-paged list and the pipeline board.

Both go through record visibility. Board totals are summed in whole cents (integers on both
stores), so they are exact on SQLite too, whose NUMERIC sums would otherwise be floats.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Date, func, literal, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers.models import Customer
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.exact_sums import from_hundredths, hundredths
from guanxi.pagination import MAX_LIMIT, Page
from guanxi.sales.models import Opportunity, PipelineStage
from guanxi.sales.pipeline import stages
from guanxi.sales.pipeline.schemas import OUTCOMES, Board, BoardColumn, OpportunityCard

CARDS_PER_COLUMN = 50
_NEVER = date(9999, 12, 31)  # sorts opportunities without a close date after every dated one
CENT = Decimal("0.01")

# sort name -> the expression ordered by and how its cursor value is read back
SORTABLE: dict[str, tuple[Any, Any]] = {
    "expected_close_date": (
        func.coalesce(Opportunity.expected_close_date, literal(_NEVER, Date)),
        date.fromisoformat,
    ),
    "amount": (Opportunity.amount, Decimal),
    "probability": (Opportunity.probability, int),
    "title": (Opportunity.title, str),
    "created_at": (Opportunity.created_at, datetime.fromisoformat),
    "updated_at": (Opportunity.updated_at, datetime.fromisoformat),
    "stage_changed_at": (Opportunity.stage_changed_at, datetime.fromisoformat),
}


@dataclass(frozen=True)
class OpportunityFilter:
    """Which opportunities a list or the board shows; every field narrows (None: any)."""

    stage_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    customer_id: int | None = None
    product_id: int | None = None
    source: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    status: str | None = None  # open | won | lost
    q: str = ""


_INTS = ("stage_id", "owner_id", "team_id", "customer_id", "product_id")
FILTER_KEYS = (
    *_INTS,
    "source",
    "close_from",
    "close_to",
    "amount_min",
    "amount_max",
    "status",
    "q",
)


def filter_from_query(params: Mapping[str, str]) -> OpportunityFilter:
    """A filter from URL parameters (``?stage_id=3&close_from=2026-01-01&status=open``);
    a value that does not parse is refused naming its parameter."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key in FILTER_KEYS:
        raw = (params.get(key) or "").strip()
        if not raw:
            continue
        try:
            if key in _INTS:
                values[key] = int(raw)
            elif key in ("close_from", "close_to"):
                values[key] = date.fromisoformat(raw)
            elif key in ("amount_min", "amount_max"):
                values[key] = Decimal(raw)
                if not values[key].is_finite():
                    raise ValueError(raw)
            elif key == "status" and raw not in OUTCOMES:
                raise ValueError(raw)
            else:
                values[key] = raw
        except (ValueError, InvalidOperation):
            errors.append(FieldError(key, N_("This value is not valid.")))
    if errors:
        raise InvalidInput(N_("Some filters are not valid."), errors=errors)
    return OpportunityFilter(**values)


def filter_clauses(spec: OpportunityFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Opportunity.deleted_at.is_(None)]
    for key in _INTS:
        value = getattr(spec, key)
        if value is not None:
            clauses.append(getattr(Opportunity, key) == value)
    if spec.source:
        clauses.append(Opportunity.source == spec.source)
    if spec.close_from:
        clauses.append(Opportunity.expected_close_date >= spec.close_from)
    if spec.close_to:
        clauses.append(Opportunity.expected_close_date <= spec.close_to)
    if spec.amount_min is not None:
        clauses.append(Opportunity.amount >= spec.amount_min)
    if spec.amount_max is not None:
        clauses.append(Opportunity.amount <= spec.amount_max)
    if spec.status:
        outcome = select(PipelineStage.id).where(PipelineStage.outcome == spec.status)
        clauses.append(Opportunity.stage_id.in_(outcome))
    if spec.q:
        escaped = spec.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(Opportunity.title.ilike(f"%{escaped}%", escape="\\"))
    return clauses


def list_opportunities(
    *,
    session: Session,
    actor: User,
    spec: OpportunityFilter,
    sort: str = "updated_at",
    descending: bool = True,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Opportunity]:
    """A page of the opportunities ``actor`` may see, ordered by ``sort`` then id (keyset)."""
    if sort not in SORTABLE:
        raise InvalidInput(
            N_("Opportunities cannot be sorted by {field}."),
            errors=[FieldError("sort", N_("Choose one of the offered values."))],
            field=sort,
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(N_("The limit must be between 1 and {max}."), max=MAX_LIMIT)
    column, restore = SORTABLE[sort]
    stmt = restrict(
        select(Opportunity, column.label("sort_key")).where(*filter_clauses(spec)),
        Opportunity,
        actor,
    )
    if cursor:
        after_id, raw_key = _decode(cursor)
        try:
            key = restore(raw_key)
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise InvalidInput(N_("The cursor is not one this server issued.")) from exc
        if descending:
            stmt = stmt.where((column < key) | ((column == key) & (Opportunity.id < after_id)))
        else:
            stmt = stmt.where((column > key) | ((column == key) & (Opportunity.id > after_id)))
    order = (column.desc(), Opportunity.id.desc()) if descending else (column, Opportunity.id)
    rows = list(session.execute(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last, last_key = rows[-1]
        next_cursor = _encode(last.id, last_key)
    return Page([row[0] for row in rows], next_cursor)


def count_opportunities(
    *, session: Session, actor: User, spec: OpportunityFilter, cap: int | None = None
) -> int:
    """How many match; with ``cap`` counting stops at ``cap + 1`` (a list says "more than")."""
    matching = restrict(select(Opportunity.id).where(*filter_clauses(spec)), Opportunity, actor)
    if cap is not None:
        matching = matching.limit(cap + 1)
    return int(session.scalar(select(func.count()).select_from(matching.subquery())) or 0)


def board(
    *,
    session: Session,
    actor: User,
    spec: OpportunityFilter,
    per_column: int = CARDS_PER_COLUMN,
) -> Board:
    """One column per active stage with its count, amount and weighted amount (amount x
    probability) over every matching opportunity, and the first ``per_column`` cards: open
    stages soonest expected close first, won and lost ones most recently closed first."""
    clauses = [*filter_clauses(spec)]
    cents = hundredths(Opportunity.amount)
    totals_stmt = restrict(
        select(
            Opportunity.stage_id,
            func.count(Opportunity.id),
            func.coalesce(func.sum(cents), 0),
            func.coalesce(func.sum(cents * Opportunity.probability), 0),
        )
        .where(*clauses)
        .group_by(Opportunity.stage_id),
        Opportunity,
        actor,
    )
    totals = {
        stage_id: (int(count), from_hundredths(amount), from_hundredths(weighted, places=4))
        for stage_id, count, amount, weighted in session.execute(totals_stmt)
    }
    columns = []
    for stage in stages.list_stages(session=session, active_only=True):
        if spec.stage_id is not None and stage.id != spec.stage_id:
            continue
        count, amount, weighted = totals.get(stage.id, (0, Decimal(0), Decimal(0)))
        cards = _cards(session, actor, clauses, stage, per_column) if count else []
        columns.append(
            BoardColumn(
                stage_id=stage.id,
                key=stage.key,
                label=stage.label,
                outcome=stage.outcome,
                count=count,
                amount=amount.quantize(CENT),
                weighted=weighted.quantize(CENT),
                cards=cards,
                more=max(count - len(cards), 0),
            )
        )
    return Board(
        columns=columns,
        count=sum(c.count for c in columns),
        amount=sum((c.amount for c in columns), Decimal("0.00")),
        weighted=sum((c.weighted for c in columns), Decimal("0.00")),
    )


def _cards(
    session: Session,
    actor: User,
    clauses: list[ColumnElement[bool]],
    stage: PipelineStage,
    limit: int,
) -> list[OpportunityCard]:
    if stage.outcome == "open":
        order: tuple[Any, ...] = (
            Opportunity.expected_close_date.is_(None),
            Opportunity.expected_close_date,
            Opportunity.id.desc(),
        )
    else:
        order = (Opportunity.closed_at.desc(), Opportunity.id.desc())
    stmt = restrict(
        select(Opportunity, Customer.name)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(Opportunity.stage_id == stage.id, *clauses),
        Opportunity,
        actor,
    )
    return [
        OpportunityCard(
            id=o.id,
            title=o.title,
            customer_id=o.customer_id,
            customer_name=name,
            amount=o.amount,
            currency=o.currency,
            probability=o.probability,
            expected_close_date=o.expected_close_date,
            owner_id=o.owner_id,
            version=o.version,
        )
        for o, name in session.execute(stmt.order_by(*order).limit(limit))
    ]


def _encode(last_id: int, key: Any) -> str:
    if isinstance(key, datetime | date):
        key = key.isoformat()
    elif not isinstance(key, str | int):
        key = str(key)  # Decimal: exact as text
    payload = {"after": last_id, "key": key}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, key = data["after"], data["key"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput(N_("The cursor is not one this server issued.")) from exc
    if not isinstance(after, int):
        raise InvalidInput(N_("The cursor is not one this server issued."))
    return after, key
