"""Keeping what routing reads: service stations (服务网点), service queues with their agents'
skills and availability, and routing rules with their conditions checked on the way in.

Stations and queues that tickets refer to are deactivated rather than deleted, so a ticket's
history still names where it went."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.analytics.tiers import TIERS
from guanxi.auth.models import Team, User
from guanxi.concurrency import ensure_version
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.sales.models import Product
from guanxi.service_desk.models import (
    KINDS,
    OPEN_STATUSES,
    QueueMember,
    RoutingRule,
    ServiceQueue,
    ServiceStation,
    Ticket,
)
from guanxi.service_desk.routing import CONDITION_KEYS
from guanxi.service_desk.routing_schemas import (
    MemberIn,
    MemberRead,
    MemberUpdate,
    QueueCreate,
    QueueUpdate,
    RuleCreate,
    RuleUpdate,
    StationCreate,
    StationUpdate,
)

MAX_CONDITION_VALUES = 100
MAX_CONDITION_TEXT = 120
# the position a new rule gets after the last one, leaving room to slip rules in between
POSITION_STEP = 10


# ---------------------------------------------------------------- stations


def list_stations(*, session: Session, active_only: bool = False) -> list[ServiceStation]:
    query = select(ServiceStation).order_by(ServiceStation.name, ServiceStation.id)
    if active_only:
        query = query.where(ServiceStation.is_active.is_(True))
    return list(session.scalars(query))


def get_station(*, session: Session, station_id: int) -> ServiceStation:
    station = session.get(ServiceStation, station_id)
    if station is None:
        raise NotFound(N_("Service station {id} was not found."), id=station_id)
    return station


def create_station(*, session: Session, actor: User, station_in: StationCreate) -> ServiceStation:
    _ensure_station_name_free(session, station_in.name, None)
    _ensure_queue(session, station_in.queue_id)
    station = ServiceStation(**station_in.model_dump())
    session.add(station)
    session.flush()
    return station


def update_station(
    *,
    session: Session,
    actor: User,
    station: ServiceStation,
    station_in: StationUpdate,
    expected_version: int | None,
) -> ServiceStation:
    ensure_version(station.version, expected_version)
    given = station_in.model_dump(exclude_unset=True)
    if given.get("name") is not None:
        _ensure_station_name_free(session, given["name"], station.id)
    if "queue_id" in given:
        _ensure_queue(session, given["queue_id"])
    for field in ("name", "latitude", "longitude", "address", "city", "region", "phone"):
        if given.get(field) is not None:
            setattr(station, field, given[field])
    if "queue_id" in given:
        station.queue_id = given["queue_id"]
    if given.get("is_active") is not None:
        station.is_active = given["is_active"]
    session.flush()
    return station


def delete_station(
    *, session: Session, actor: User, station: ServiceStation, expected_version: int | None
) -> bool:
    """Delete a station no ticket names, else close it; True when it was deleted."""
    ensure_version(station.version, expected_version)
    used = session.scalar(select(Ticket.id).where(Ticket.station_id == station.id).limit(1))
    if used is not None:
        station.is_active = False
        session.flush()
        return False
    session.delete(station)
    session.flush()
    return True


def _ensure_station_name_free(session: Session, name: str, own_id: int | None) -> None:
    holder = session.scalar(select(ServiceStation.id).where(ServiceStation.name == name))
    if holder is not None and holder != own_id:
        raise Conflict(
            N_("A service station named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=name,
        )


def _ensure_queue(session: Session, queue_id: int | None, field: str = "queue_id") -> None:
    if queue_id is not None and session.get(ServiceQueue, queue_id) is None:
        raise InvalidInput(
            N_("Queue {id} does not exist."),
            errors=[FieldError(field, N_("Choose an existing queue."))],
            id=queue_id,
        )


# ---------------------------------------------------------------- queues and agents


def list_queues(*, session: Session, active_only: bool = False) -> list[ServiceQueue]:
    query = select(ServiceQueue).order_by(ServiceQueue.name, ServiceQueue.id)
    if active_only:
        query = query.where(ServiceQueue.is_active.is_(True))
    return list(session.scalars(query))


def get_queue(*, session: Session, queue_id: int) -> ServiceQueue:
    queue = session.get(ServiceQueue, queue_id)
    if queue is None:
        raise NotFound(N_("Queue {id} was not found."), id=queue_id)
    return queue


def create_queue(*, session: Session, actor: User, queue_in: QueueCreate) -> ServiceQueue:
    _ensure_queue_name_free(session, queue_in.name, None)
    _ensure_team(session, queue_in.team_id)
    _ensure_user(session, queue_in.manager_id, "manager_id")
    members = _clean_members(session, queue_in.members)
    queue = ServiceQueue(
        name=queue_in.name,
        description=queue_in.description,
        team_id=queue_in.team_id,
        manager_id=queue_in.manager_id,
    )
    session.add(queue)
    session.flush()
    for member in members:
        session.add(QueueMember(queue_id=queue.id, **member.model_dump()))
    session.flush()
    return queue


def update_queue(
    *,
    session: Session,
    actor: User,
    queue: ServiceQueue,
    queue_in: QueueUpdate,
    expected_version: int | None,
) -> ServiceQueue:
    ensure_version(queue.version, expected_version)
    given = queue_in.model_dump(exclude_unset=True)
    # every check first, so that a refusal leaves the queue as it was
    if given.get("name") is not None:
        _ensure_queue_name_free(session, given["name"], queue.id)
    if "team_id" in given:
        _ensure_team(session, given["team_id"])
    if "manager_id" in given:
        _ensure_user(session, given["manager_id"], "manager_id")
    members = _clean_members(session, queue_in.members) if queue_in.members is not None else None
    for field in ("name", "description", "is_active"):
        if given.get(field) is not None:
            setattr(queue, field, given[field])
    for field in ("team_id", "manager_id"):
        if field in given:
            setattr(queue, field, given[field])
    if members is not None:
        _replace_members(session, queue, members)
    session.flush()
    return queue


def delete_queue(
    *, session: Session, actor: User, queue: ServiceQueue, expected_version: int | None
) -> bool:
    """Delete a queue that no ticket, rule or station names, else close it (routing then skips
    it); True when it was deleted."""
    ensure_version(queue.version, expected_version)
    used = (
        session.scalar(select(Ticket.id).where(Ticket.queue_id == queue.id).limit(1))
        or session.scalar(select(RoutingRule.id).where(RoutingRule.queue_id == queue.id).limit(1))
        or session.scalar(
            select(ServiceStation.id).where(ServiceStation.queue_id == queue.id).limit(1)
        )
    )
    if used is not None:
        queue.is_active = False
        session.flush()
        return False
    session.delete(queue)
    session.flush()
    return True


def members_of(*, session: Session, queue_ids: Iterable[int]) -> dict[int, list[MemberRead]]:
    """Each queue's agents with their skills, availability and open tickets: two queries for
    any number of queues."""
    ids = list(queue_ids)
    found: dict[int, list[MemberRead]] = {queue_id: [] for queue_id in ids}
    if not ids:
        return found
    rows = session.execute(
        select(QueueMember, User)
        .join(User, User.id == QueueMember.user_id)
        .where(QueueMember.queue_id.in_(ids))
        .order_by(QueueMember.queue_id, User.username)
    ).all()
    user_ids = {member.user_id for member, _user in rows}
    loads: dict[int, int] = {}
    if user_ids:
        loads = {
            assignee: count
            for assignee, count in session.execute(
                select(Ticket.assignee_id, func.count(Ticket.id))
                .where(Ticket.assignee_id.in_(user_ids), Ticket.status.in_(OPEN_STATUSES))
                .group_by(Ticket.assignee_id)
            )
            if assignee is not None
        }
    for member, user in rows:
        found[member.queue_id].append(
            MemberRead(
                user_id=user.id,
                username=user.username,
                display_name=user.display_name,
                skills=[str(s) for s in member.skills or []],
                available=member.available,
                open_tickets=loads.get(user.id, 0),
            )
        )
    return found


def set_member(
    *, session: Session, actor: User, queue: ServiceQueue, member_in: MemberIn
) -> QueueMember:
    """Add an agent to the queue, or change their skills and availability if already in it."""
    (clean,) = _clean_members(session, [member_in])
    member = session.get(QueueMember, (queue.id, clean.user_id))
    if member is None:
        member = QueueMember(queue_id=queue.id, **clean.model_dump())
        session.add(member)
    else:
        member.skills = clean.skills
        member.available = clean.available
    session.flush()
    return member


def update_member(
    *, session: Session, actor: User, queue: ServiceQueue, user_id: int, member_in: MemberUpdate
) -> QueueMember:
    member = _get_member(session, queue, user_id)
    if member_in.skills is not None:
        member.skills = _dedupe(member_in.skills)
    if member_in.available is not None:
        member.available = member_in.available
    session.flush()
    return member


def remove_member(*, session: Session, actor: User, queue: ServiceQueue, user_id: int) -> None:
    session.delete(_get_member(session, queue, user_id))
    session.flush()


def set_own_availability(
    *, session: Session, actor: User, available: bool, queue_id: int | None = None
) -> list[QueueMember]:
    """An agent going off (or back on) duty: in every queue they belong to, or in one."""
    query = select(QueueMember).where(QueueMember.user_id == actor.id)
    if queue_id is not None:
        query = query.where(QueueMember.queue_id == queue_id)
    memberships = list(session.scalars(query))
    if queue_id is not None and not memberships:
        raise NotFound(N_("You are not an agent of queue {id}."), id=queue_id)
    for member in memberships:
        member.available = available
    session.flush()
    return memberships


def memberships_of(*, session: Session, user: User) -> list[tuple[ServiceQueue, QueueMember]]:
    rows = session.execute(
        select(ServiceQueue, QueueMember)
        .join(QueueMember, QueueMember.queue_id == ServiceQueue.id)
        .where(QueueMember.user_id == user.id)
        .order_by(ServiceQueue.name)
    )
    return list(rows)


def _get_member(session: Session, queue: ServiceQueue, user_id: int) -> QueueMember:
    member = session.get(QueueMember, (queue.id, user_id))
    if member is None:
        raise NotFound(
            N_("User {user} is not an agent of queue {queue}."), user=user_id, queue=queue.id
        )
    return member


def _dedupe(skills: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for skill in skills:
        seen.setdefault(skill.casefold(), skill)
    return list(seen.values())


def _clean_members(session: Session, members: Iterable[MemberIn]) -> list[MemberIn]:
    cleaned: dict[int, MemberIn] = {}
    listed = list(members)
    users = {
        user.id: user
        for user in session.scalars(select(User).where(User.id.in_({m.user_id for m in listed})))
    }
    for index, member in enumerate(listed):
        user = users.get(member.user_id)
        if user is None or not user.is_active:
            raise InvalidInput(
                N_("User {id} does not exist or is deactivated."),
                errors=[FieldError(f"members.{index}.user_id", N_("Choose an active user."))],
                id=member.user_id,
            )
        cleaned[member.user_id] = MemberIn(
            user_id=member.user_id, skills=_dedupe(member.skills), available=member.available
        )
    return list(cleaned.values())


def _replace_members(session: Session, queue: ServiceQueue, members: list[MemberIn]) -> None:
    current = {
        m.user_id: m
        for m in session.scalars(select(QueueMember).where(QueueMember.queue_id == queue.id))
    }
    wanted = {m.user_id: m for m in members}
    for user_id, member in current.items():
        if user_id not in wanted:
            session.delete(member)
    for user_id, member_in in wanted.items():
        kept = current.get(user_id)
        if kept is None:
            session.add(QueueMember(queue_id=queue.id, **member_in.model_dump()))
        else:
            kept.skills = member_in.skills
            kept.available = member_in.available


def _ensure_queue_name_free(session: Session, name: str, own_id: int | None) -> None:
    holder = session.scalar(select(ServiceQueue.id).where(ServiceQueue.name == name))
    if holder is not None and holder != own_id:
        raise Conflict(
            N_("A queue named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=name,
        )


def _ensure_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise InvalidInput(
            N_("Team {id} does not exist."),
            errors=[FieldError("team_id", N_("Choose an existing team."))],
            id=team_id,
        )


def _ensure_user(session: Session, user_id: int | None, field: str) -> None:
    if user_id is None:
        return
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidInput(
            N_("User {id} does not exist or is deactivated."),
            errors=[FieldError(field, N_("Choose an active user."))],
            id=user_id,
        )


# ---------------------------------------------------------------- routing rules


def list_rules(*, session: Session) -> list[RoutingRule]:
    return list(session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)))


def get_rule(*, session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(N_("Routing rule {id} was not found."), id=rule_id)
    return rule


def create_rule(*, session: Session, actor: User, rule_in: RuleCreate) -> RoutingRule:
    _ensure_queue(session, rule_in.queue_id)
    conditions = clean_conditions(session, rule_in.conditions)
    position = rule_in.position
    if position is None:
        last = session.scalar(select(func.max(RoutingRule.position)))
        position = (last or 0) + POSITION_STEP
    rule = RoutingRule(
        name=rule_in.name,
        queue_id=rule_in.queue_id,
        conditions=conditions,
        skill=rule_in.skill,
        position=position,
        is_active=rule_in.is_active,
    )
    session.add(rule)
    session.flush()
    return rule


def update_rule(
    *,
    session: Session,
    actor: User,
    rule: RoutingRule,
    rule_in: RuleUpdate,
    expected_version: int | None,
) -> RoutingRule:
    ensure_version(rule.version, expected_version)
    if rule_in.queue_id is not None:
        _ensure_queue(session, rule_in.queue_id)
    conditions = (
        clean_conditions(session, rule_in.conditions) if rule_in.conditions is not None else None
    )
    for field in ("name", "queue_id", "skill", "position", "is_active"):
        value = getattr(rule_in, field)
        if value is not None:
            setattr(rule, field, value)
    if conditions is not None and conditions != rule.conditions:
        rule.conditions = conditions
    session.flush()
    return rule


def delete_rule(
    *, session: Session, actor: User, rule: RoutingRule, expected_version: int | None
) -> None:
    ensure_version(rule.version, expected_version)
    session.delete(rule)
    session.flush()


def _condition_error(field: str, message: str, **params: object) -> InvalidInput:
    error = InvalidInput(message, errors=None, **params)
    error.errors = [FieldError(f"conditions.{field}", error.detail)]
    return error


def clean_conditions(session: Session, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The conditions as stored: known keys only, each a list of clean values; a value routing
    could never match (an unknown kind or tier, a product that does not exist) is refused."""
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in CONDITION_KEYS:
            raise _condition_error(
                key,
                N_("Unknown condition {key}; use one of {known}."),
                key=key,
                known=", ".join(CONDITION_KEYS),
            )
        values = value if isinstance(value, list) else [value]
        if value is None or values == []:
            continue
        if len(values) > MAX_CONDITION_VALUES:
            raise _condition_error(
                key, N_("At most {count} values per condition."), count=MAX_CONDITION_VALUES
            )
        if key == "product_id":
            cleaned[key] = _clean_product_ids(session, values)
            continue
        texts: list[str] = []
        for item in values:
            if not isinstance(item, str) or not item.strip():
                raise _condition_error(key, N_("Each value of {key} must be text."), key=key)
            text = item.strip()
            if len(text) > MAX_CONDITION_TEXT:
                raise _condition_error(
                    key, N_("Values are at most {count} characters."), count=MAX_CONDITION_TEXT
                )
            texts.append(text)
        if key == "kind":
            bad = [t for t in texts if t not in KINDS]
            if bad:
                raise _condition_error(
                    key,
                    N_("Unknown ticket kind {value}; use one of {known}."),
                    value=bad[0],
                    known=", ".join(KINDS),
                )
        if key == "tier":
            texts = [t.lower() for t in texts]
            bad = [t for t in texts if t not in TIERS]
            if bad:
                raise _condition_error(
                    key,
                    N_("Unknown value tier {value}; use one of {known}."),
                    value=bad[0],
                    known=", ".join(TIERS),
                )
        cleaned[key] = list(dict.fromkeys(texts))
    return cleaned


def _clean_product_ids(session: Session, values: list[Any]) -> list[int]:
    ids: list[int] = []
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise _condition_error("product_id", N_("Product ids are whole numbers."))
        try:
            ids.append(int(item))
        except ValueError:
            raise _condition_error("product_id", N_("Product ids are whole numbers.")) from None
    known = set(session.scalars(select(Product.id).where(Product.id.in_(ids))))
    missing = [i for i in ids if i not in known]
    if missing:
        raise _condition_error("product_id", N_("Product {id} does not exist."), id=missing[0])
    return list(dict.fromkeys(ids))
