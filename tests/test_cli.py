"""The command line as scripts use it: fixed interfaces, clear errors, and the audit check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from guanxi import demo, schema
from guanxi.auth import service as auth_service
from guanxi.auth.passwords import verify_password
from guanxi.db import Database
from guanxi.service_desk import demo as service_demo


def guanxi(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guanxi", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def cli_env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANXI_")}
    env.update(GUANXI_DATABASE_URL=fresh_database_url, GUANXI_DATA_DIR=str(tmp_path), COLUMNS="200")
    return env


def test_user_create_reads_the_password_from_stdin(
    cli_env: dict[str, str], fresh_database_url: str
):
    assert guanxi(["db", "upgrade"], cli_env).returncode == 0
    assert guanxi(["team", "create", "East"], cli_env).returncode == 0
    created = guanxi(
        ["user", "create", "Wang.Fang", "--role", "manager", "--team", "East", "--password-stdin"],
        cli_env,
        stdin="a long secret phrase\n",
    )
    assert created.returncode == 0, created.stderr
    db = Database(fresh_database_url)
    with db.unit_of_work() as session:
        user = auth_service.get_user_by_username(session=session, username="wang.fang")
        assert user is not None and user.role.name == "manager" and user.team.name == "East"
        assert verify_password(user.password_hash, "a long secret phrase")
        actor = session.execute(
            text("SELECT actor_username FROM audit_log WHERE entity_type = 'user'")
        ).scalar()
        assert actor.startswith("cli:")
    db.dispose()


def test_cli_errors_name_the_problem(cli_env: dict[str, str]):
    guanxi(["db", "upgrade"], cli_env)
    bad_role = guanxi(
        ["user", "create", "li", "--role", "wizard", "--password-stdin"],
        cli_env,
        stdin="a long secret phrase\n",
    )
    assert bad_role.returncode == 1 and "no role named wizard" in bad_role.stderr
    short = guanxi(
        ["user", "create", "li", "--role", "sales", "--password-stdin"], cli_env, stdin="short\n"
    )
    assert short.returncode == 1 and "password" in short.stderr and "Traceback" not in short.stderr


def test_commands_refuse_an_unmigrated_database(cli_env: dict[str, str]):
    reply = guanxi(["user", "list"], cli_env)
    assert reply.returncode == 1 and "guanxi db upgrade" in reply.stderr


def test_audit_verify_finds_a_tampered_row(cli_env: dict[str, str], fresh_database_url: str):
    guanxi(["db", "upgrade"], cli_env)
    guanxi(["team", "create", "One"], cli_env)
    guanxi(["team", "create", "Two"], cli_env)
    intact = guanxi(["audit", "verify"], cli_env)
    assert intact.returncode == 0 and "intact" in intact.stdout
    db = Database(fresh_database_url)
    with db.unit_of_work() as session:
        target = session.execute(
            text("SELECT id FROM audit_log WHERE entity_type = 'team' ORDER BY id LIMIT 1")
        ).scalar_one()
        session.execute(
            text("UPDATE audit_log SET actor_username = 'someone-else' WHERE id = :id"),
            {"id": target},
        )
    db.dispose()
    broken = guanxi(["audit", "verify"], cli_env)
    assert broken.returncode == 1
    assert f"BROKEN at entry {target}" in broken.stderr


def test_demo_company_is_deterministic(fresh_database_url: str):
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        company = demo.create(session, seed=7, size=demo.DemoSize.small)
        assert {login.role for login in company.logins} == {
            "admin",
            "manager",
            "sales",
            "marketing",
            "service",
            "analyst",
        }
        # a user per role, the extra sales reps and the service desk's agents
        assert len(company.users) == (
            6 + demo.EXTRA_SALES[demo.DemoSize.small] + service_demo.AGENTS[demo.DemoSize.small]
        )
    with db.unit_of_work() as session:
        again = demo.existing_logins(session)
        assert again == company.logins
        user = auth_service.get_user_by_username(session=session, username="sales")
        assert user is not None
        assert verify_password(user.password_hash, demo.demo_password(7, "sales"))
        with pytest.raises(Exception, match="already holds"):
            demo.create(session, seed=7, size=demo.DemoSize.small)
    db.dispose()
    assert demo.demo_password(7, "sales") == demo.demo_password(7, "sales")
    assert demo.demo_password(7, "sales") != demo.demo_password(8, "sales")


def test_upgrade_is_safe_to_run_twice(fresh_database_url: str):
    db = Database(fresh_database_url)
    assert schema.pending_migrations(db)
    schema.upgrade(db)
    schema.upgrade(db)
    assert not schema.pending_migrations(db)
    db.dispose()
