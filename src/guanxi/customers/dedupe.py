"""Finding likely duplicate customers: the same normalised phone or e-mail, the same name in the
same city, or (for one customer at a time) a similar name in the same city.

Only customers the user may see take part, so the list never reveals another team's records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, aliased

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers.models import Customer, CustomerEmail, CustomerPhone
from guanxi.customers.service import get as get_customer

# longer names are similar from this rapidfuzz ratio (0-100) on
SIMILAR_NAME_SCORE = 85
_ACTIVE = (Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))


@dataclass
class DuplicatePair:
    """Two customers that may be one, and why (``phone``, ``email``, ``name_city``,
    ``similar_name``)."""

    first_id: int
    second_id: int
    reasons: set[str] = field(default_factory=set)
    score: int = 0  # 100 for an exact match, the name similarity otherwise


def _visible_ids(actor: User) -> Select[int]:
    return restrict(select(Customer.id).where(*_ACTIVE), Customer, actor)


def _shared_value_pairs(
    session: Session,
    actor: User,
    table: type[CustomerPhone] | type[CustomerEmail],
    column: str,
    only: int | None,
    limit: int,
) -> Iterable[tuple[int, int]]:
    left, right = aliased(table), aliased(table)
    visible = _visible_ids(actor)
    stmt = (
        select(left.customer_id, right.customer_id)
        .join(
            right,
            and_(
                getattr(left, column) == getattr(right, column),
                left.customer_id < right.customer_id,
            ),
        )
        .where(left.customer_id.in_(visible), right.customer_id.in_(visible))
        .distinct()
        .limit(limit)
    )
    if only is not None:
        stmt = stmt.where((left.customer_id == only) | (right.customer_id == only))
    return [(a, b) for a, b in session.execute(stmt)]


def _same_name_pairs(
    session: Session, actor: User, only: int | None, limit: int
) -> Iterable[tuple[int, int]]:
    left, right = aliased(Customer), aliased(Customer)
    visible = _visible_ids(actor)
    stmt = (
        select(left.id, right.id)
        .join(
            right,
            and_(left.city == right.city, left.name_key == right.name_key, left.id < right.id),
        )
        .where(left.city != "", left.name_key != "", left.id.in_(visible), right.id.in_(visible))
        .limit(limit)
    )
    if only is not None:
        stmt = stmt.where((left.id == only) | (right.id == only))
    return [(a, b) for a, b in session.execute(stmt)]


def _similar_names(session: Session, actor: User, customer: Customer) -> list[tuple[int, int]]:
    """Customers in the same city whose names resemble this one's (张伟 / 张 伟 / 章伟)."""
    if not customer.city or not customer.name_key:
        return []
    candidates = select(Customer.id, Customer.name_key).where(
        *_ACTIVE, Customer.city == customer.city, Customer.id != customer.id
    )
    stmt = restrict(candidates, Customer, actor).limit(5000)
    found = []
    for other_id, key in session.execute(stmt):
        if similar_names(customer.name_key, key):
            found.append((other_id, int(fuzz.ratio(customer.name_key, key))))
    return found


def similar_names(first: str, second: str) -> bool:
    """Name keys that likely spell one name: for short (Chinese) names the same surname and one
    character apart (王小明 / 王晓明), for longer ones a high similarity ratio."""
    if first == second:
        return True
    if max(len(first), len(second)) <= 4:
        return first[:1] == second[:1] and Levenshtein.distance(first, second) <= 1
    return fuzz.ratio(first, second) >= SIMILAR_NAME_SCORE


def find(
    *, session: Session, actor: User, customer_id: int | None = None, limit: int = 200
) -> list[DuplicatePair]:
    """Likely duplicates among the customers ``actor`` may see; for one customer if given."""
    if customer_id is not None:
        get_customer(session=session, actor=actor, customer_id=customer_id)  # 404 if unseen
    pairs: dict[tuple[int, int], DuplicatePair] = {}

    def note(a: int, b: int, reason: str, score: int = 100) -> None:
        key = (min(a, b), max(a, b))
        pair = pairs.setdefault(key, DuplicatePair(*key))
        pair.reasons.add(reason)
        pair.score = max(pair.score, score)

    for a, b in _shared_value_pairs(session, actor, CustomerPhone, "number", customer_id, limit):
        note(a, b, "phone")
    for a, b in _shared_value_pairs(session, actor, CustomerEmail, "address", customer_id, limit):
        note(a, b, "email")
    for a, b in _same_name_pairs(session, actor, customer_id, limit):
        note(a, b, "name_city")
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        for other_id, score in _similar_names(session, actor, customer):
            note(customer_id, other_id, "similar_name", score)
    ranked = sorted(pairs.values(), key=lambda p: (-len(p.reasons), -p.score, p.first_id))
    return ranked[:limit]
