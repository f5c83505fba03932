"""Service stations, queues and routing rules over JSON: ``/api/v1/service-stations``,
``/api/v1/service-queues`` and ``/api/v1/routing-rules``. Whoever reads tickets may read
these; changing them takes the tickets "manage" permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, require
from guanxi.service_desk import routing_admin as service
from guanxi.service_desk.models import ServiceQueue
from guanxi.service_desk.routing_schemas import (
    AvailabilityIn,
    MemberIn,
    MemberRead,
    MemberUpdate,
    QueueCreate,
    QueueRead,
    QueueUpdate,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    StationCreate,
    StationRead,
    StationUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["service stations"])

Reader = Annotated[User, require("tickets", "read")]
Manager = Annotated[User, require("tickets", "manage")]


# ---------------------------------------------------------------- stations


@router.get("/service-stations")
def list_stations(session: DbSession, actor: Reader, active: bool = False) -> list[StationRead]:
    """Every station by name; ``active=true`` for the open ones only."""
    stations = service.list_stations(session=session, active_only=active)
    return [StationRead.model_validate(s) for s in stations]


@router.post("/service-stations", status_code=status.HTTP_201_CREATED)
def create_station(
    body: StationCreate, response: Response, session: DbSession, actor: Manager
) -> StationRead:
    """Add a station: ``{"name", "latitude", "longitude"}`` (WGS-84 degrees) and optionally
    address, city, region, phone and the queue its service requests go to."""
    station = service.create_station(session=session, actor=actor, station_in=body)
    response.headers["ETag"] = etag(station.version)
    return StationRead.model_validate(station)


@router.get("/service-stations/{station_id:int}")
def read_station(
    station_id: int, response: Response, session: DbSession, actor: Reader
) -> StationRead:
    station = service.get_station(session=session, station_id=station_id)
    response.headers["ETag"] = etag(station.version)
    return StationRead.model_validate(station)


@router.patch("/service-stations/{station_id:int}")
def update_station(
    station_id: int,
    body: StationUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Manager,
) -> StationRead:
    station = service.get_station(session=session, station_id=station_id)
    station = service.update_station(
        session=session,
        actor=actor,
        station=station,
        station_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(station.version)
    return StationRead.model_validate(station)


@router.delete("/service-stations/{station_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_station(
    station_id: int, session: DbSession, expected_version: IfMatch, actor: Manager
) -> None:
    """Delete the station, or close it (``is_active`` false) when tickets name it."""
    station = service.get_station(session=session, station_id=station_id)
    service.delete_station(
        session=session, actor=actor, station=station, expected_version=expected_version
    )


# ---------------------------------------------------------------- queues


def _queue_read(session: Session, queue: ServiceQueue) -> QueueRead:
    members = service.members_of(session=session, queue_ids=[queue.id])[queue.id]
    return _queue_out(queue, members)


def _queue_out(queue: ServiceQueue, members: list[MemberRead]) -> QueueRead:
    return QueueRead(
        id=queue.id,
        name=queue.name,
        description=queue.description,
        team_id=queue.team_id,
        manager_id=queue.manager_id,
        is_active=queue.is_active,
        members=members,
        version=queue.version,
        created_at=queue.created_at,
        updated_at=queue.updated_at,
    )


@router.get("/service-queues")
def list_queues(session: DbSession, actor: Reader, active: bool = False) -> list[QueueRead]:
    """Every queue by name with its agents, their skills, availability and open tickets."""
    queues = service.list_queues(session=session, active_only=active)
    members = service.members_of(session=session, queue_ids=[q.id for q in queues])
    return [_queue_out(q, members[q.id]) for q in queues]


@router.post("/service-queues", status_code=status.HTTP_201_CREATED)
def create_queue(
    body: QueueCreate, response: Response, session: DbSession, actor: Manager
) -> QueueRead:
    queue = service.create_queue(session=session, actor=actor, queue_in=body)
    response.headers["ETag"] = etag(queue.version)
    return _queue_read(session, queue)


@router.post("/service-queues/availability")
def set_my_availability(body: AvailabilityIn, session: DbSession, actor: Reader) -> list[int]:
    """The calling agent goes off or on duty (in one queue, or all of theirs); answers the
    queues changed. Routing gives new tickets only to available agents."""
    changed = service.set_own_availability(
        session=session, actor=actor, available=body.available, queue_id=body.queue_id
    )
    return [member.queue_id for member in changed]


@router.get("/service-queues/{queue_id:int}")
def read_queue(queue_id: int, response: Response, session: DbSession, actor: Reader) -> QueueRead:
    queue = service.get_queue(session=session, queue_id=queue_id)
    response.headers["ETag"] = etag(queue.version)
    return _queue_read(session, queue)


@router.patch("/service-queues/{queue_id:int}")
def update_queue(
    queue_id: int,
    body: QueueUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Manager,
) -> QueueRead:
    queue = service.get_queue(session=session, queue_id=queue_id)
    queue = service.update_queue(
        session=session, actor=actor, queue=queue, queue_in=body, expected_version=expected_version
    )
    response.headers["ETag"] = etag(queue.version)
    return _queue_read(session, queue)


@router.delete("/service-queues/{queue_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_queue(
    queue_id: int, session: DbSession, expected_version: IfMatch, actor: Manager
) -> None:
    """Delete the queue, or close it when tickets, rules or stations name it."""
    queue = service.get_queue(session=session, queue_id=queue_id)
    service.delete_queue(
        session=session, actor=actor, queue=queue, expected_version=expected_version
    )


@router.put("/service-queues/{queue_id:int}/members")
def add_member(queue_id: int, body: MemberIn, session: DbSession, actor: Manager) -> QueueRead:
    """Add an agent with their skills, or change them if already in the queue."""
    queue = service.get_queue(session=session, queue_id=queue_id)
    service.set_member(session=session, actor=actor, queue=queue, member_in=body)
    return _queue_read(session, queue)


@router.patch("/service-queues/{queue_id:int}/members/{user_id:int}")
def update_member(
    queue_id: int, user_id: int, body: MemberUpdate, session: DbSession, actor: Manager
) -> QueueRead:
    queue = service.get_queue(session=session, queue_id=queue_id)
    service.update_member(
        session=session, actor=actor, queue=queue, user_id=user_id, member_in=body
    )
    return _queue_read(session, queue)


@router.delete(
    "/service-queues/{queue_id:int}/members/{user_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def remove_member(queue_id: int, user_id: int, session: DbSession, actor: Manager) -> None:
    queue = service.get_queue(session=session, queue_id=queue_id)
    service.remove_member(session=session, actor=actor, queue=queue, user_id=user_id)


# ---------------------------------------------------------------- routing rules


@router.get("/routing-rules")
def list_rules(session: DbSession, actor: Reader) -> list[RuleRead]:
    """The rules in the order routing tries them (position, then id)."""
    return [RuleRead.model_validate(r) for r in service.list_rules(session=session)]


@router.post("/routing-rules", status_code=status.HTTP_201_CREATED)
def create_rule(
    body: RuleCreate, response: Response, session: DbSession, actor: Manager
) -> RuleRead:
    """``{"name", "queue_id", "conditions": {"kind": "complaint", "tier": ["vip"]}, "skill"}``;
    without a position the rule goes last. An unknown key or value is refused, naming it."""
    rule = service.create_rule(session=session, actor=actor, rule_in=body)
    response.headers["ETag"] = etag(rule.version)
    return RuleRead.model_validate(rule)


@router.get("/routing-rules/{rule_id:int}")
def read_rule(rule_id: int, response: Response, session: DbSession, actor: Reader) -> RuleRead:
    rule = service.get_rule(session=session, rule_id=rule_id)
    response.headers["ETag"] = etag(rule.version)
    return RuleRead.model_validate(rule)


@router.patch("/routing-rules/{rule_id:int}")
def update_rule(
    rule_id: int,
    body: RuleUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Manager,
) -> RuleRead:
    rule = service.get_rule(session=session, rule_id=rule_id)
    rule = service.update_rule(
        session=session, actor=actor, rule=rule, rule_in=body, expected_version=expected_version
    )
    response.headers["ETag"] = etag(rule.version)
    return RuleRead.model_validate(rule)


@router.delete("/routing-rules/{rule_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(
    rule_id: int, session: DbSession, expected_version: IfMatch, actor: Manager
) -> None:
    rule = service.get_rule(session=session, rule_id=rule_id)
    service.delete_rule(session=session, actor=actor, rule=rule, expected_version=expected_version)
