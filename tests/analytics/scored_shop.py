"""A shop scored twice by real runs (120 days apart, so customers move between stages), committed
to a database of its own per backend and shared by a module's tests, which only read it: the
dashboards, their drill-downs and the pages built on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update

from guanxi import schema
from guanxi.analytics import runs
from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database
from tests.analytics.store_support import END, Shop, seed_shop
from tests.conftest import BACKENDS, PASSWORD, TEST_SECRET, create_scratch_database

REGIONS = ("华东", "华北", "华南")
EARLIER_END = END - dt.timedelta(days=120)


@dataclass
class ScoredShop:
    db: Database
    settings: Settings
    shop: Shop
    tokens: dict[str, dict[str, str]]  # username -> Authorization header
    team_id: int


def _token(db: Database, username: str) -> dict[str, str]:
    with db.unit_of_work() as session:
        user = auth_service.get_user_by_username(session=session, username=username)
        issued = login.create_token(session=session, user=user, name="test", expires_in_days=1)
        return {"Authorization": f"Bearer {issued.token}"}


def build(db: Database, data_dir: Path) -> ScoredShop:
    settings = Settings(
        data_dir=data_dir,
        database_url=db.url,
        secret_key=TEST_SECRET,
        default_locale="en",
        embedded_worker=False,
    )
    schema.upgrade(db)
    shop = seed_shop(db, customers=240, prospects=6)
    with db.unit_of_work() as session:
        team = auth_service.create_team(session=session, team_in=TeamCreate(name="华东一队"))
        for username in ("boss", "analyst"):
            auth_service.create_user(
                session=session,
                user_in=UserCreate(
                    username=username,
                    password=PASSWORD,
                    role="admin" if username == "boss" else "analyst",
                ),
            )
        ids = shop.customers + shop.prospects
        for index, region in enumerate(REGIONS):
            chosen = ids[index :: len(REGIONS)]
            session.execute(update(Customer).where(Customer.id.in_(chosen)).values(region=region))
        session.execute(update(Customer).where(Customer.id.in_(ids[::2])).values(team_id=team.id))
        team_id = team.id
    for end in (EARLIER_END, END):
        run = runs.analyze(db, settings, end=end)
        assert run.status == "succeeded", run.error
    tokens = {name: _token(db, name) for name in ("boss", "analyst", "rep-a", "rep-b")}
    return ScoredShop(db, settings, shop, tokens, team_id)


@pytest.fixture(scope="module", params=BACKENDS)
def scored(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScoredShop]:
    directory = tmp_path_factory.mktemp("scored")
    scratch = create_scratch_database(request.param, directory)
    db = Database(scratch.url)
    yield build(db, directory)
    db.dispose()
    if callable(scratch.drop):
        scratch.drop()
