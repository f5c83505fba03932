"""Finding customers: any fragment of a name, company, phone or e-mail, in Chinese or English, and
list filters over any field, on SQLite (FTS5) and PostgreSQL (GIN over grams, pg_trgm).

How a fragment is looked up (measured choices, DESIGN.md "Search"):

- digits (a phone fragment of three or more): trigram index over the phone forms in
  ``search_text``;
- Chinese: the n-gram terms in ``search_grams`` -- one or two characters as one term, longer
  fragments as all their bigrams, then checked against the name so that 张伟明 does not match a
  name that merely holds 张伟 and 伟明 apart;
- Latin of three letters or more (names, e-mails): trigram index over ``search_text``;
  one or two letters: the word-prefix terms in ``search_grams``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers import normalize
from guanxi.customers.models import Customer, CustomerTag, Tag
from guanxi.errors import N_, FieldError, InvalidInput

# scalar fields a list can be filtered on by equality (?city=上海)
EQUALITY_FILTERS = (
    "kind",
    "customer_type",
    "gender",
    "region",
    "city",
    "district",
    "industry",
    "occupation",
    "source_channel",
    "preferred_channel",
    "risk_level",
    "value_tier",
    "lifecycle_stage",
    "external_id",
)
SORTABLE = ("name", "created_at", "updated_at", "city", "id")


@dataclass
class CustomerFilter:
    """What a customer list shows; every field maps to a URL parameter of the list page."""

    q: str = ""
    equals: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    owner_id: int | None = None
    team_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    custom: dict[str, str] = field(default_factory=dict)
    ids: list[int] | None = None
    # values of the filters other domains add (``register_filter``), by URL parameter
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListFilter:
    """A customer-list filter another domain adds (the mining centre's scores, saved segments):
    the URL parameters it reads, the condition it makes of their values (raising ``InvalidInput``
    naming the parameter for a bad one) and the words a chip on the list page shows for it.

    Several parameters form one filter when they must be read together (an order placed in a
    period *and* through a channel is one order)."""

    name: str
    params: tuple[str, ...]
    clause: Callable[[Session, Mapping[str, str]], ColumnElement[bool]]
    describe: Callable[[Session, Mapping[str, str]], str]


_list_filters: dict[str, ListFilter] = {}


def register_filter(list_filter: ListFilter) -> None:
    _list_filters[list_filter.name] = list_filter


def list_filters() -> list[ListFilter]:
    """Every registered filter, once the domains that add them are loaded."""
    from guanxi.customers import extensions

    extensions.load()
    return list(_list_filters.values())


def extra_params() -> frozenset[str]:
    """The URL parameters the registered filters read."""
    return frozenset(param for f in list_filters() for param in f.params)


def _chosen(list_filter: ListFilter, spec: CustomerFilter) -> dict[str, str]:
    return {p: spec.extra[p] for p in list_filter.params if spec.extra.get(p)}


def describe_extra(session: Session, spec: CustomerFilter) -> list[tuple[str, list[str]]]:
    """(words, parameters) for each registered filter ``spec`` uses, for the list page's chips
    (removing a chip drops its parameters from the URL)."""
    described = []
    for list_filter in list_filters():
        values = _chosen(list_filter, spec)
        if values:
            described.append((list_filter.describe(session, values), list(values)))
    return described


def _fts_phrase(term: str) -> str:
    # an FTS5 string literal: double quotes inside are doubled
    return '"' + term.replace('"', '""') + '"'


def _grams_contain(session: Session, terms: list[str]) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return Customer.search_grams.op("@>")(bindparam(None, terms, type_=ARRAY(Text())))
    match = " AND ".join(_fts_phrase(t) for t in terms)
    return Customer.id.in_(
        select(text("rowid"))
        .select_from(text("customer_grams"))
        .where(text("customer_grams MATCH :grams").bindparams(grams=match))
    )


def _text_contains(session: Session, fragment: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return Customer.search_text.like(f"%{escaped}%", escape="\\")
    return Customer.id.in_(
        select(text("rowid"))
        .select_from(text("customer_trigrams"))
        .where(text("customer_trigrams MATCH :fragment").bindparams(fragment=_fts_phrase(fragment)))
    )


def fragment_clause(session: Session, q: str) -> ColumnElement[bool]:
    """The condition for customers whose name, company, phone or e-mail holds ``q``."""
    q = q.strip()
    if not q:
        return false()
    digits = normalize.phone_fragment(q)
    if digits is not None:
        return _text_contains(session, digits)
    if normalize.has_cjk(q):
        terms = normalize.query_terms(q)
        clause = _grams_contain(session, terms)
        if len("".join(terms)) > 4:  # three or more characters: bigrams may be apart
            folded = q.replace("%", "").replace("_", "")
            clause = and_(
                clause,
                or_(Customer.name.contains(folded), Customer.company.contains(folded)),
            )
        return clause
    folded = q.lower()
    if len(folded) >= 3:
        return _text_contains(session, folded)
    return _grams_contain(session, [folded])


def is_specific(q: str) -> bool:
    """Whether a search fragment matches few customers (two or more Chinese characters, three or
    more letters or digits) rather than a large share of them (one character, one or two
    letters)."""
    q = q.strip()
    if normalize.has_cjk(q):
        return len("".join(normalize.query_terms(q))) >= 2
    return len(q) >= 3


def filter_clauses(session: Session, spec: CustomerFilter) -> list[ColumnElement[bool]]:
    """Conditions for a customer list (visibility is added separately, by the caller)."""
    clauses: list[ColumnElement[bool]] = [
        Customer.deleted_at.is_(None),
        Customer.merged_into_id.is_(None),
    ]
    if spec.q:
        clauses.append(fragment_clause(session, spec.q))
    for name, value in spec.equals.items():
        if name in EQUALITY_FILTERS and value != "":
            clauses.append(getattr(Customer, name) == value)
    for tag in spec.tags:
        clauses.append(
            exists().where(
                CustomerTag.customer_id == Customer.id,
                CustomerTag.tag_id == select(Tag.id).where(Tag.name == tag).scalar_subquery(),
            )
        )
    if spec.owner_id is not None:
        clauses.append(Customer.owner_id == spec.owner_id)
    if spec.team_id is not None:
        clauses.append(Customer.team_id == spec.team_id)
    if spec.created_from is not None:
        clauses.append(func.date(Customer.created_at) >= spec.created_from)
    if spec.created_to is not None:
        clauses.append(func.date(Customer.created_at) <= spec.created_to)
    for key, value in spec.custom.items():
        clauses.append(Customer.custom_fields[key].as_string() == value)
    if spec.ids is not None:
        clauses.append(Customer.id.in_(spec.ids))
    if spec.extra:
        for list_filter in list_filters():
            values = _chosen(list_filter, spec)
            if values:
                clauses.append(list_filter.clause(session, values))
    return clauses


def filter_from_query(params: Any) -> CustomerFilter:
    """A filter from URL parameters (the list page's, the API's and exports' alike), so that a
    filtered list is a link someone can share: ``?q=张&city=上海&tag=VIP&cf.grade=A``."""

    def one(name: str) -> str:
        value = params.get(name)
        return str(value).strip() if value is not None else ""

    def number(name: str) -> int | None:
        value = one(name)
        if not value:
            return None
        if not value.isdigit():
            raise InvalidInput(
                N_("{field} must be a whole number."),
                errors=[FieldError(name, N_("Must be a whole number."))],
                field=name,
            )
        return int(value)

    def day(name: str) -> date | None:
        value = one(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(
                N_("Write dates as 2026-11-23."), errors=[FieldError(name, N_("Not a date."))]
            ) from exc

    tags = [t for t in params.getlist("tag") if t.strip()] if hasattr(params, "getlist") else []
    ids_text = one("ids")
    ids = [int(i) for i in ids_text.split(",") if i.strip().isdigit()] if ids_text else None
    return CustomerFilter(
        q=one("q")[:100],
        equals={name: one(name) for name in EQUALITY_FILTERS if one(name)},
        tags=tags,
        owner_id=number("owner_id"),
        team_id=number("team_id"),
        created_from=day("created_from"),
        created_to=day("created_to"),
        custom={k[3:]: str(v) for k, v in params.items() if k.startswith("cf.") and str(v)},
        ids=ids,
        extra={name: one(name)[:200] for name in extra_params() if one(name)},
    )


def common_values(session: Session, actor: User, name: str, limit: int = 200) -> tuple[str, ...]:
    """The values of the text field ``name`` (region, city...) most used among the customers
    ``actor`` may see, most used first: what a filter's input suggests."""
    column = getattr(Customer, name)
    statement = restrict(
        select(column)
        .where(column.is_not(None), column != "", Customer.deleted_at.is_(None))
        .group_by(column)
        .order_by(func.count().desc(), column)
        .limit(limit),
        Customer,
        actor,
    )
    return tuple(session.scalars(statement))
