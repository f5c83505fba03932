"""API shapes for service stations (服务网点), service queues with their agents, and routing
rules. Coordinates are WGS-84 degrees."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Skills = Annotated[list[Skill], Field(max_length=30)]


class StationCreate(BaseModel):
    name: Name
    latitude: Latitude
    longitude: Longitude
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    city: Short = ""
    region: Short = ""
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = ""
    queue_id: int | None = None


class StationUpdate(BaseModel):
    """Only the fields sent change; ``queue_id: null`` unlinks the queue."""

    name: Name | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    city: Short | None = None
    region: Short | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    queue_id: int | None = None
    is_active: bool | None = None


class StationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    latitude: float
    longitude: float
    address: str
    city: str
    region: str
    phone: str
    queue_id: int | None
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class MemberIn(BaseModel):
    user_id: int
    skills: Skills = Field(default_factory=list)
    available: bool = True


class MemberUpdate(BaseModel):
    """An agent's skills and whether they take new tickets; only the fields sent change."""

    skills: Skills | None = None
    available: bool | None = None


class MemberRead(BaseModel):
    user_id: int
    username: str
    display_name: str
    skills: list[str]
    available: bool
    open_tickets: int


class QueueCreate(BaseModel):
    name: Name
    description: Description = ""
    team_id: int | None = None
    manager_id: int | None = None
    members: Annotated[list[MemberIn], Field(max_length=500)] = Field(default_factory=list)


class QueueUpdate(BaseModel):
    """Only the fields sent change; ``members``, when sent, replaces the whole list."""

    name: Name | None = None
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None
    ) = None
    team_id: int | None = None
    manager_id: int | None = None
    is_active: bool | None = None
    members: Annotated[list[MemberIn], Field(max_length=500)] | None = None


class QueueRead(BaseModel):
    id: int
    name: str
    description: str
    team_id: int | None
    manager_id: int | None
    is_active: bool
    members: list[MemberRead]
    version: int
    created_at: datetime
    updated_at: datetime


class AvailabilityIn(BaseModel):
    """The calling agent's own availability, in every queue they belong to or in one."""

    available: bool
    queue_id: int | None = None


class RuleCreate(BaseModel):
    name: Name
    queue_id: int
    conditions: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Any of kind, category, product_id, region, tier, language (a value or a list) and "
            "keywords (a list; one found in the subject or description matches)"
        ),
    )
    skill: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] = ""
    position: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    is_active: bool = True


class RuleUpdate(BaseModel):
    """Only the fields sent change."""

    name: Name | None = None
    queue_id: int | None = None
    conditions: dict[str, Any] | None = None
    skill: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    position: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    is_active: bool | None = None


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    position: int
    queue_id: int
    conditions: dict[str, Any]
    skill: str
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime
