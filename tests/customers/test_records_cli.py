"""``guanxi customers ...``: finding, showing, merging and erasing from a shell, and ``--as``
limiting each command to what that user may see and do."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from guanxi.db import Database
from tests.customers.import_helpers import write_csv
from tests.customers.test_import_cli import cli_env, guanxi  # noqa: F401 - the fixture

PASSWORD = "a long secret phrase\n"


def _user(env: dict[str, str], name: str, role: str, team: str) -> None:
    created = guanxi(
        ["user", "create", name, "--role", role, "--team", team, "--password-stdin"],
        env,
        stdin=PASSWORD,
    )
    assert created.returncode == 0, created.stderr


def _import_as(env: dict[str, str], path: Path, rows: list[list[str]], username: str) -> None:
    write_csv(path, [["编号", "姓名", "手机", "邮箱", "城市"], *rows])
    done = guanxi(["import", "customers", str(path), "--as", username], env)
    assert done.returncode == 0, done.stderr


def _ids(database_url: str) -> dict[str, int]:
    db = Database(database_url)
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT external_id, id FROM customers")).all()
    db.dispose()
    return {str(external_id): int(id_) for external_id, id_ in rows}


def _listed(env: dict[str, str], *args: str) -> dict[str, object]:
    done = guanxi(["customers", "list", "--json", *args], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_another_teams_customer_cannot_be_found_shown_merged_or_erased(
    cli_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    fresh_database_url: str,
):
    for team in ("East", "West"):
        assert guanxi(["team", "create", team], cli_env).returncode == 0
    _user(cli_env, "east.rep", "sales", "East")
    _user(cli_env, "west.rep", "sales", "West")
    _user(cli_env, "west.lead", "manager", "West")
    _import_as(cli_env, tmp_path / "e.csv", [["E1", "张伟", "13800138000", "", "上海"]], "east.rep")
    _import_as(cli_env, tmp_path / "w.csv", [["W1", "张伟", "13900139000", "", "上海"]], "west.rep")
    ids = _ids(fresh_database_url)

    # the phone written another way still finds the owner's customer...
    mine = _listed(cli_env, "--q", "138 0013 8000", "--as", "east.rep")
    assert mine["total"] == 1 and mine["items"][0]["id"] == ids["E1"]  # type: ignore[index]
    # ...but not for a sales rep of another team, nor their manager
    for other in ("west.rep", "west.lead"):
        assert _listed(cli_env, "--q", "13800138000", "--as", other)["total"] == 0
        hidden = guanxi(["customers", "show", str(ids["E1"]), "--as", other], cli_env)
        assert hidden.returncode == 1 and "was not found" in hidden.stderr
        assert "张伟" not in hidden.stdout + hidden.stderr
    # an administrator (no --as) sees both
    assert _listed(cli_env, "--q", "张伟")["total"] == 2

    # a manager may merge, but not a customer out of sight; a sales rep may not merge at all
    refused = guanxi(
        ["customers", "merge", str(ids["W1"]), str(ids["E1"]), "--as", "west.lead"], cli_env
    )
    assert refused.returncode == 1 and "was not found" in refused.stderr
    forbidden = guanxi(
        ["customers", "merge", str(ids["E1"]), str(ids["W1"]), "--as", "east.rep"], cli_env
    )
    assert forbidden.returncode == 1 and "may not delete" in forbidden.stderr
    erase = guanxi(["customers", "erase", str(ids["E1"]), "--yes", "--as", "west.lead"], cli_env)
    assert erase.returncode == 1 and "was not found" in erase.stderr

    db = Database(fresh_database_url)
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, merged_into_id, erased_at, version FROM customers ORDER BY id")
        ).all()
    db.dispose()
    assert [tuple(r) for r in rows] == [("张伟", None, None, 1), ("张伟", None, None, 1)]


def test_duplicates_merge_personal_data_and_erasure_as_an_administrator(
    cli_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    fresh_database_url: str,
):
    write_csv(
        tmp_path / "people.csv",
        [
            ["编号", "姓名", "手机", "邮箱", "城市"],
            ["A", "王芳", "13800138000", "", "北京"],
            ["B", "王 芳", "", "wang.fang@example.cn", "北京"],
        ],
    )
    assert guanxi(["import", "customers", str(tmp_path / "people.csv")], cli_env).returncode == 0
    ids = _ids(fresh_database_url)

    pairs = guanxi(["customers", "duplicates"], cli_env)
    assert pairs.returncode == 0 and f"{ids['A']}" in pairs.stdout and "name_city" in pairs.stdout

    merged = guanxi(["customers", "merge", str(ids["A"]), str(ids["B"])], cli_env)
    assert merged.returncode == 0, merged.stderr
    shown = json.loads(guanxi(["customers", "show", str(ids["A"])], cli_env).stdout)
    assert [e["address"] for e in shown["emails"]] == ["wang.fang@example.cn"]
    assert [p["number"] for p in shown["phones"]] == ["+8613800138000"]

    out = tmp_path / "subject.json"
    exported = guanxi(["customers", "personal-data", str(ids["A"]), "-o", str(out)], cli_env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["customer_id"] == ids["A"] and "王芳" in out.read_text(encoding="utf-8")

    not_confirmed = guanxi(["customers", "erase", str(ids["A"])], cli_env, stdin="n\n")
    assert not_confirmed.returncode == 1 and "nothing was erased" in not_confirmed.stderr
    erased = guanxi(["customers", "erase", str(ids["A"]), "--yes"], cli_env)
    assert erased.returncode == 0, erased.stderr
    after = json.loads(guanxi(["customers", "show", str(ids["A"])], cli_env).stdout)
    assert after["name"] == f"#{ids['A']}" and after["phones"] == [] and after["emails"] == []
    assert _listed(cli_env, "--q", "王芳")["total"] == 0
    again = guanxi(["customers", "erase", str(ids["A"]), "--yes"], cli_env)
    assert again.returncode == 1 and "already been erased" in again.stderr

    db = Database(fresh_database_url)
    with db.engine.connect() as connection:
        actions = connection.execute(
            text("SELECT action FROM audit_log WHERE entity_type = 'customer' ORDER BY id")
        ).scalars()
        recorded = list(actions)
    db.dispose()
    assert {"merge", "export.personal_data", "erase"} <= set(recorded)


def test_bad_arguments_are_named(cli_env: dict[str, str]):  # noqa: F811
    missing = guanxi(["customers", "show", "999"], cli_env)
    assert missing.returncode == 1 and "was not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = guanxi(["customers", "show", "abc"], cli_env)
    assert bad.returncode == 2 and "customer_id" in bad.stderr.lower()
    nobody = guanxi(["customers", "list", "--as", "nobody"], cli_env)
    assert nobody.returncode == 1 and "no active user named 'nobody'" in nobody.stderr
    same = guanxi(["customers", "merge", "1", "1"], cli_env)
    assert same.returncode == 1 and "two different customers" in same.stderr
