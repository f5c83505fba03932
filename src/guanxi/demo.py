"""Deterministic demo company: the same seed and size always give the same data and passwords.

Domains add their own data with ``@demo_step(order)``; each step gets the session, a seeded random
generator of its own, the size and what earlier steps made (``DemoCompany``).
"""

from __future__ import annotations

import hashlib
import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from guanxi import settings_store
from guanxi.auth import service as auth_service
from guanxi.auth.models import Team, User
from guanxi.auth.permissions import BUILTIN_ROLE_NAMES
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.errors import N_, Conflict

DEMO_KEY = "demo"
# Modules that add demo data; later domains append theirs.
DEMO_MODULES: tuple[str, ...] = (
    "guanxi.demo",
    "guanxi.customers.demo",
    "guanxi.sales.demo",
    "guanxi.interactions.demo",
    "guanxi.service_desk.demo",
)


class DemoSize(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


# extra sales representatives beyond one user per role
EXTRA_SALES = {DemoSize.small: 4, DemoSize.medium: 20, DemoSize.large: 100}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str


@dataclass
class DemoCompany:
    seed: int
    size: DemoSize
    teams: dict[str, Team] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


DemoStep = Callable[[Session, random.Random, DemoCompany], None]
_steps: list[tuple[int, str, DemoStep]] = []


def demo_step(order: int) -> Callable[[DemoStep], DemoStep]:
    def register(step: DemoStep) -> DemoStep:
        _steps.append((order, f"{step.__module__}.{step.__name__}", step))
        return step

    return register


def demo_password(seed: int, username: str) -> str:
    """The demo password for a user: printed, reproducible, and long enough for the policy."""
    digest = hashlib.sha256(f"guanxi-demo:{seed}:{username}".encode()).hexdigest()
    return f"{username}-{digest[:6]}"


def create(
    session: Session,
    *,
    seed: int,
    size: DemoSize,
    progress: Callable[[str], None] | None = None,
) -> DemoCompany:
    """Create the demo company; refuses if one is already there."""
    if settings_store.get(session, DEMO_KEY) is not None:
        raise Conflict(N_("This database already holds the demo company."))
    for module in DEMO_MODULES:
        importlib.import_module(module)
    company = DemoCompany(seed, size)
    for _order, name, step in sorted(_steps, key=lambda s: (s[0], s[1])):
        if progress:
            progress(name)
        step(session, random.Random(f"{seed}:{name}"), company)  # noqa: S311 - demo data, not secrets
        session.flush()
    settings_store.put(session, DEMO_KEY, {"seed": seed, "size": size.value})
    return company


def existing_logins(session: Session) -> list[DemoLogin] | None:
    """The demo logins of a database that holds the demo company, or None."""
    info = settings_store.get(session, DEMO_KEY)
    if info is None:
        return None
    seed = int(info["seed"])
    logins = []
    for role in BUILTIN_ROLE_NAMES:
        user = auth_service.get_user_by_username(session=session, username=role)
        if user is not None:
            logins.append(DemoLogin(user.username, user.role.name, demo_password(seed, role)))
    return logins


# ---------------------------------------------------------------- the foundation's part

# (name, parent) in creation order: a head office with regional sales teams below it
_TEAMS = (
    ("总部 Head office", None),
    ("华东销售部 East China sales", "总部 Head office"),
    ("上海销售组 Shanghai sales", "华东销售部 East China sales"),
    ("杭州销售组 Hangzhou sales", "华东销售部 East China sales"),
    ("华北销售部 North China sales", "总部 Head office"),
    ("客户服务部 Customer service", "总部 Head office"),
    ("市场部 Marketing", "总部 Head office"),
    ("数据分析部 Analytics", "总部 Head office"),
)
_ROLE_TEAMS = {
    "admin": "总部 Head office",
    "manager": "华东销售部 East China sales",
    "sales": "上海销售组 Shanghai sales",
    "marketing": "市场部 Marketing",
    "service": "客户服务部 Customer service",
    "analyst": "数据分析部 Analytics",
}
_ROLE_NAMES = {
    "admin": "管理员 Admin",
    "manager": "王经理 Wang (manager)",
    "sales": "李娜 Li Na",
    "marketing": "陈静 Chen Jing",
    "service": "刘洋 Liu Yang",
    "analyst": "赵敏 Zhao Min",
}
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "勇",
    "艳",
    "杰",
    "军",
    "强",
    "丽",
    "涛",
    "明",
    "超",
)
_SALES_TEAMS = (
    "上海销售组 Shanghai sales",
    "杭州销售组 Hangzhou sales",
    "华北销售部 North China sales",
)


@demo_step(10)
def teams_and_users(session: Session, rng: random.Random, company: DemoCompany) -> None:
    for name, parent in _TEAMS:
        parent_id = company.teams[parent].id if parent else None
        company.teams[name] = auth_service.create_team(
            session=session, team_in=TeamCreate(name=name, parent_id=parent_id)
        )
    for role in BUILTIN_ROLE_NAMES:
        _add_user(session, company, role, role, _ROLE_NAMES[role], _ROLE_TEAMS[role])
    for number in range(1, EXTRA_SALES[company.size] + 1):
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(("", *_GIVEN))
        _add_user(session, company, f"sales{number:03d}", "sales", name, rng.choice(_SALES_TEAMS))


def _add_user(
    session: Session, company: DemoCompany, username: str, role: str, display_name: str, team: str
) -> None:
    password = demo_password(company.seed, username)
    user = auth_service.create_user(
        session=session,
        user_in=UserCreate(
            username=username,
            password=password,
            role=role,
            team_id=company.teams[team].id,
            display_name=display_name,
            email=f"{username}@demo.guanxi.example",
        ),
    )
    company.users[username] = user
    if username == role:
        company.logins.append(DemoLogin(username, role, password))
