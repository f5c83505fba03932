"""Use cases for saved segments: create, change, delete, list, their members and their preview.

A segment is the customer list's URL parameters (``customers.search.filter_from_query``), checked
against the explorer's catalogue (``fields``) and the list filters themselves before it is saved,
and evaluated whenever it is used: who belongs is worked out at that moment, among the customers
the user may see. Segments themselves are shared: everyone who may read segments sees every
definition, and each sees only their own customers in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from guanxi.auth.models import Team, User
from guanxi.auth.visibility import restrict
from guanxi.concurrency import ensure_version
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.search import CustomerFilter, filter_clauses, filter_from_query
from guanxi.errors import N_, Conflict, FieldError, GuanxiError, InvalidInput, NotFound
from guanxi.marketing.segments import fields as catalogue
from guanxi.marketing.segments import figures
from guanxi.marketing.segments.models import Segment
from guanxi.marketing.segments.schemas import SegmentCreate, SegmentPreview, SegmentUpdate

SEGMENT_PARAM = "segment"
MAX_VALUE_LENGTH = 200

Pairs = list[tuple[str, str]]


# ---------------------------------------------------------------- definitions


def pairs_of(segment: Segment) -> Pairs:
    """A saved definition's parameters, in the order they were given."""
    return [(str(k), str(v)) for k, v in (segment.definition or {}).get("params", [])]


def spec_for(pairs: Iterable[Sequence[str]]) -> CustomerFilter:
    """The customer-list filter a definition stands for (a nested ``segment`` is never read, so
    a hand-edited definition cannot loop)."""
    return filter_from_query(QueryParams([(k, v) for k, v in pairs if k != SEGMENT_PARAM]))


def list_url(pairs: Iterable[Sequence[str]]) -> str:
    query = urlencode([(k, v) for k, v in pairs])
    return "/customers" + ("?" + query if query else "")


def clean_params(session: Session, params: Iterable[Sequence[str]]) -> Pairs:
    """``params`` with blanks dropped, every condition checked: a known parameter, given once
    (tags may repeat), a value its field accepts, and conditions the customer list can apply.
    A refusal names each bad parameter."""
    known = catalogue.by_param(catalogue.catalogue(session))
    pairs: Pairs = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for raw_key, raw_value in params:
        key, value = str(raw_key).strip(), str(raw_value).strip()
        if not value:
            continue
        problem = _problem(session, known, key, value, seen)
        if problem:
            errors.append(FieldError(key, problem))
            continue
        seen.add(key)
        pairs.append((key, value))
    if errors:
        raise InvalidInput(N_("Some conditions cannot be used."), errors=errors)
    # the list filters check their own values (a number, a month, a listed tier...)
    filter_clauses(session, spec_for(pairs))
    return pairs


def _problem(
    session: Session, known: dict[str, catalogue.Field], key: str, value: str, seen: set[str]
) -> str | None:
    if key == SEGMENT_PARAM:
        return N_("A segment cannot contain another segment.")
    field = known.get(key)
    if field is None:
        return N_("Unknown condition.")
    if key in seen and not field.repeatable:
        return N_("Give this condition once.")
    if len(value) > MAX_VALUE_LENGTH:
        return N_("Must be at most 200 characters.")
    if field.type == "choice" and value not in dict(field.choices):
        return N_("Choose one of the offered values.")
    if field.type in ("user", "team") and value.isdigit():
        model: Any = User if field.type == "user" else Team
        if session.get(model, int(value)) is None:
            return N_("No such user.") if field.type == "user" else N_("No such team.")
    return None


def _definition(session: Session, params: Iterable[Sequence[str]]) -> dict[str, Any]:
    pairs = clean_params(session, params)
    if not pairs:
        raise InvalidInput(
            N_("Add at least one condition."),
            errors=[FieldError("params", N_("Add at least one condition."))],
        )
    return {"params": [list(pair) for pair in pairs]}


# ---------------------------------------------------------------- segments


def list_segments(*, session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name, Segment.id)))


def get(*, session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(N_("Segment {id} was not found."), id=segment_id)
    return segment


def create(*, session: Session, actor: User, segment_in: SegmentCreate) -> Segment:
    _ensure_name_free(session, segment_in.name, None)
    segment = Segment(
        name=segment_in.name,
        description=segment_in.description,
        definition=_definition(session, segment_in.params),
        owner_id=actor.id,
    )
    session.add(segment)
    session.flush()
    return segment


def update(
    *,
    session: Session,
    actor: User,
    segment: Segment,
    segment_in: SegmentUpdate,
    expected_version: int | None,
) -> Segment:
    ensure_version(segment.version, expected_version)
    # every check first, so that a refusal leaves the segment as it was
    definition = _definition(session, segment_in.params) if segment_in.params is not None else None
    if segment_in.name is not None and segment_in.name != segment.name:
        _ensure_name_free(session, segment_in.name, segment.id)
        segment.name = segment_in.name
    if segment_in.description is not None:
        segment.description = segment_in.description
    if definition is not None and definition != segment.definition:
        segment.definition = definition
    session.flush()
    return segment


def delete(
    *, session: Session, actor: User, segment: Segment, expected_version: int | None
) -> None:
    """Delete a segment; lists and links that name it answer that it is gone."""
    ensure_version(segment.version, expected_version)
    session.delete(segment)
    session.flush()


def _ensure_name_free(session: Session, name: str, own_id: int | None) -> None:
    holder = session.scalar(select(Segment.id).where(Segment.name == name))
    if holder is not None and holder != own_id:
        raise Conflict(
            N_("A segment named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=name,
        )


# ---------------------------------------------------------------- members and figures


def members(*, session: Session, actor: User, segment: Segment) -> Select[Customer]:
    """The segment's customers that ``actor`` may see, as they are now."""
    spec = spec_for(pairs_of(segment))
    return restrict(select(Customer).where(*filter_clauses(session, spec)), Customer, actor)


def size(*, session: Session, actor: User, pairs: Iterable[Sequence[str]]) -> int:
    """How many customers ``actor`` sees in a definition: the count the customer list shows."""
    return customer_service.count_customers(session=session, actor=actor, spec=spec_for(pairs))


def sizes(*, session: Session, actor: User, segments: Iterable[Segment]) -> dict[int, int | None]:
    """Each segment's size for ``actor``; None for a definition that no longer works (a custom
    field or a choice it names was removed), so one broken segment does not hide the others."""
    found: dict[int, int | None] = {}
    for segment in segments:
        try:
            found[segment.id] = size(session=session, actor=actor, pairs=pairs_of(segment))
        except GuanxiError:
            found[segment.id] = None
    return found


def preview(*, session: Session, actor: User, params: Iterable[Sequence[str]]) -> SegmentPreview:
    """Size, value, tiers and trend of a definition, saved or not, among the customers ``actor``
    may see. Value figures need ``analytics:read`` and a finished scoring run."""
    pairs = clean_params(session, params)
    spec = spec_for(pairs)
    members_now = size(session=session, actor=actor, pairs=pairs)
    scores = (
        figures.scores(session=session, actor=actor, spec=spec)
        if actor.can("analytics", "read")
        else figures.NO_SCORES
    )
    return SegmentPreview(size=members_now, list_url=list_url(pairs), **scores)
