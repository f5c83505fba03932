"""Win rates by owner, source or product over the opportunities closed in a period."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.exact_sums import hundredths
from guanxi.sales.funnel.schemas import FunnelFilters, WinRateBy, WinRateRow, WinRates
from guanxi.sales.funnel.scope import check_period, conditions, instants, load_stages, money, ratio
from guanxi.sales.labels import OPPORTUNITY_SOURCE_LABELS
from guanxi.sales.models import Opportunity, Product

NO_KEY_LABEL = N_("(none)")


_WIN_RATE_KEYS: dict[str, Any] = {
    "owner": Opportunity.owner_id,
    "source": Opportunity.source,
    "product": Opportunity.product_id,
}


def win_rates(
    *,
    session: Session,
    actor: User,
    by: WinRateBy,
    period_start: date,
    period_end: date,
    owner_id: int | None = None,
    team_id: int | None = None,
    source: str | None = None,
    product_id: int | None = None,
) -> WinRates:
    """Won and lost opportunities closed in the period, per owner, source or product, with the
    win rate won / (won + lost); ``open`` counts those created in the period and still open."""
    check_period(period_start, period_end)
    if by not in _WIN_RATE_KEYS:
        raise InvalidInput(
            N_("Choose a valid grouping."),
            errors=[FieldError("by", N_("Group by owner, source or product."))],
        )
    filters = FunnelFilters(
        owner_id=owner_id, team_id=team_id, source=source, product_id=product_id
    )
    stages = load_stages(session)
    key = _WIN_RATE_KEYS[by]
    begin, end = instants(period_start, period_end)
    kept = conditions(session, actor, filters)
    counts: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"won": 0, "lost": 0, "open": 0, "c": 0}
    )
    closed = session.execute(
        select(key, Opportunity.stage_id, func.count(), func.sum(hundredths(Opportunity.amount)))
        .where(
            Opportunity.closed_at >= begin,
            Opportunity.closed_at < end,
            Opportunity.stage_id.in_(stages.closed_ids),
            *kept,
        )
        .group_by(key, Opportunity.stage_id)
    ).all()
    won_ids = set(stages.won_ids)
    for value, stage_id, count, cents in closed:
        entry = counts[value]
        if stage_id in won_ids:
            entry["won"] += count
            entry["c"] += cents or 0
        else:
            entry["lost"] += count
    still_open = session.execute(
        select(key, func.count())
        .where(
            Opportunity.created_at >= begin,
            Opportunity.created_at < end,
            Opportunity.stage_id.not_in(stages.closed_ids),
            *kept,
        )
        .group_by(key)
    ).all()
    for value, count in still_open:
        counts[value]["open"] += count
    labels = _labels(session, by, [v for v in counts if v not in (None, "")])
    rows = [
        _win_rate_row("" if value is None else str(value), labels.get(value, NO_KEY_LABEL), entry)
        for value, entry in counts.items()
    ]
    rows.sort(key=lambda r: (-(r.won + r.lost), -r.open, r.label))
    total = {
        "won": sum(e["won"] for e in counts.values()),
        "lost": sum(e["lost"] for e in counts.values()),
        "open": sum(e["open"] for e in counts.values()),
        "c": sum(e["c"] for e in counts.values()),
    }
    return WinRates(
        by=by,
        period_start=period_start,
        period_end=period_end,
        filters=filters,
        rows=rows,
        total=_win_rate_row("", N_("Total"), total),
    )


def _win_rate_row(key: str, label: str, entry: dict[str, Any]) -> WinRateRow:
    return WinRateRow(
        key=key,
        label=label,
        won=entry["won"],
        lost=entry["lost"],
        open=entry["open"],
        win_rate=ratio(entry["won"], entry["won"] + entry["lost"]),
        won_amount=money(entry["c"]),
    )


def _labels(session: Session, by: str, values: list[Any]) -> dict[Any, str]:
    """What people call each key: the user's name, the product's name, the source's label."""
    if by == "source":
        return {v: OPPORTUNITY_SOURCE_LABELS.get(v, v) for v in values}
    if not values:
        return {}
    if by == "owner":
        return {u.id: u.label for u in session.scalars(select(User).where(User.id.in_(values)))}
    products = session.execute(select(Product.id, Product.name).where(Product.id.in_(values)))
    return {pid: name for pid, name in products}
