"""``guanxi import`` and ``guanxi export`` as scripts use them: fixed interfaces, a summary and an
error report, one-line errors, and ``--as`` limiting a command to what that user may see."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import vobject
from sqlalchemy import text

from guanxi.db import Database
from tests.customers.import_helpers import write_csv


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
        cwd=env["GUANXI_DATA_DIR"],
    )


@pytest.fixture
def cli_env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANXI_")}
    env.update(
        GUANXI_DATABASE_URL=fresh_database_url,
        GUANXI_DATA_DIR=str(tmp_path),
        GUANXI_DEFAULT_LOCALE="en",
        COLUMNS="200",
    )
    assert guanxi(["db", "upgrade"], env).returncode == 0
    return env


ROWS = [
    ["客户编号", "姓名", "手机", "邮箱", "城市", "标签"],
    ["C1", "张伟", "138 0013 8000", "zhang.wei@example.cn", "上海", "VIP"],
    ["C2", "王芳", "1234", "", "北京", ""],
    ["C3", "李娜", "13900139000", "not-an-address", "广州", ""],
    ["C4", "赵敏", "13700137000", "", "上海", ""],
]


def _counts(stdout: str) -> list[int]:
    """The summary table's figures: rows, new, updated, unchanged, rejected, duplicates."""
    after = stdout.split("possible duplicates", 1)[1]
    line = next(line for line in after.splitlines() if re.search(r"\d", line))
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", line)]


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_import_and_export_customers_from_the_command_line(cli_env: dict[str, str], tmp_path: Path):
    source = write_csv(tmp_path / "客户.csv", ROWS, encoding="gbk")
    first = guanxi(["import", "customers", str(source)], cli_env)
    assert first.returncode == 0, first.stderr
    assert "row 3, 手机: Not a phone number." in first.stdout
    assert "row 4, 邮箱: Not an e-mail address." in first.stdout
    report = Path(first.stdout.split("Error report: ")[1].split()[0])
    assert _csv_rows(report)[:2] == [
        ["Row", "Field", "Reason", *ROWS[0]],
        ["3", "手机", "Not a phone number.", *ROWS[2]],
    ]
    assert _counts(first.stdout) == [4, 2, 0, 0, 2, 0]

    again = guanxi(["import", "customers", str(source)], cli_env)
    assert again.returncode == 0
    assert _counts(again.stdout) == [4, 0, 0, 2, 2, 0]

    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Kunde": "name", "Telefon": "phones", "Stadt": "city"}))
    other = write_csv(
        tmp_path / "other.csv", [["Kunde", "Telefon", "Stadt"], ["刘洋", "13600136000", "杭州"]]
    )
    dry = guanxi(
        ["import", "customers", str(other), "--mapping", str(mapping), "--dry-run"], cli_env
    )
    assert dry.returncode == 0 and "dry run: nothing was changed" in dry.stdout
    done = guanxi(["import", "customers", str(other), "--mapping", str(mapping)], cli_env)
    assert done.returncode == 0, done.stderr

    out = tmp_path / "out.csv"
    exported = guanxi(["export", "customers", "--format", "csv", "-o", str(out)], cli_env)
    assert exported.returncode == 0, exported.stderr
    assert "Exported 3 customers" in exported.stdout
    rows = _csv_rows(out)
    assert sorted(row[2] for row in rows[1:]) == ["刘洋", "张伟", "赵敏"]
    filtered = tmp_path / "vip.xlsx"
    assert (
        guanxi(
            [
                "export",
                "customers",
                "--format",
                "xlsx",
                "-o",
                str(filtered),
                "--city",
                "上海",
                "--tag",
                "VIP",
            ],
            cli_env,
        ).returncode
        == 0
    )
    sheet = openpyxl.load_workbook(filtered).active
    assert sheet is not None
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["张伟"]
    cards = tmp_path / "q.vcf"
    assert (
        guanxi(
            ["export", "customers", "--format", "vcf", "-o", str(cards), "--q", "赵"], cli_env
        ).returncode
        == 0
    )
    assert [c.fn.value for c in vobject.readComponents(cards.read_text(encoding="utf-8"))] == [
        "赵敏"
    ]


def test_import_contacts_from_the_command_line(cli_env: dict[str, str], tmp_path: Path):
    organisations = write_csv(
        tmp_path / "orgs.csv", [["编号", "客户名称", "类别"], ["ORG1", "华为技术", "企业"]]
    )
    assert guanxi(["import", "customers", str(organisations)], cli_env).returncode == 0
    contacts = write_csv(
        tmp_path / "contacts.csv",
        [["公司编号", "联系人", "手机"], ["ORG1", "李经理", "13800138000"], ["ORG9", "王工", ""]],
    )
    reply = guanxi(["import", "contacts", str(contacts)], cli_env)
    assert reply.returncode == 0, reply.stderr
    assert (
        "row 3, 公司编号: No organisation you may see has this external id or name." in reply.stdout
    )


def _user(env: dict[str, str], name: str, role: str, team: str) -> None:
    created = guanxi(
        ["user", "create", name, "--role", role, "--team", team, "--password-stdin"],
        env,
        stdin="a long secret phrase\n",
    )
    assert created.returncode == 0, created.stderr


def test_as_a_sales_user_the_cli_sees_only_their_customers(
    cli_env: dict[str, str], tmp_path: Path, fresh_database_url: str
):
    for team in ("East", "West"):
        assert guanxi(["team", "create", team], cli_env).returncode == 0
    _user(cli_env, "east.rep", "sales", "East")
    _user(cli_env, "west.rep", "sales", "West")
    east = write_csv(
        tmp_path / "east.csv", [["编号", "姓名", "手机"], ["E1", "张伟", "13800138000"]]
    )
    assert guanxi(["import", "customers", str(east), "--as", "east.rep"], cli_env).returncode == 0

    out = tmp_path / "west.csv"
    exported = guanxi(
        ["export", "customers", "--format", "csv", "-o", str(out), "--as", "west.rep"], cli_env
    )
    assert exported.returncode == 0 and "Exported 0 customers" in exported.stdout
    assert len(_csv_rows(out)) == 1  # the header only

    attack = write_csv(
        tmp_path / "attack.csv", [["编号", "姓名", "手机"], ["", "冒名", "138 0013 8000"]]
    )
    refused = guanxi(["import", "customers", str(attack), "--as", "west.rep"], cli_env)
    assert refused.returncode == 0
    assert "row 2: This row matches a record you may not change." in refused.stdout
    assert "张伟" not in refused.stdout

    db = Database(fresh_database_url)
    with db.engine.connect() as connection:
        names = connection.execute(text("SELECT name, version FROM customers")).all()
        exports = connection.execute(
            text("SELECT actor_username, changes FROM audit_log WHERE action = 'export'")
        ).all()
    db.dispose()
    assert [tuple(n) for n in names] == [("张伟", 1)]
    assert len(exports) == 1 and exports[0][0] == "west.rep"
    changes = exports[0][1] if isinstance(exports[0][1], dict) else json.loads(exports[0][1])
    assert changes["rows"] == 0


def test_cli_errors_are_one_line_and_name_the_problem(cli_env: dict[str, str], tmp_path: Path):
    source = write_csv(tmp_path / "c.csv", ROWS)
    mapping = tmp_path / "bad.json"
    mapping.write_text(json.dumps({"姓名": "nam"}), encoding="utf-8")
    bad_mapping = guanxi(["import", "customers", str(source), "--mapping", str(mapping)], cli_env)
    assert bad_mapping.returncode == 1
    assert bad_mapping.stderr.strip() == (
        "guanxi: The column mapping is not valid. (姓名: Unknown field.)"
    )
    nobody = guanxi(["import", "customers", str(source), "--as", "nobody"], cli_env)
    assert nobody.returncode == 1 and "no active user named 'nobody'" in nobody.stderr
    wrong_format = guanxi(
        ["export", "customers", "--format", "pdf", "-o", str(tmp_path / "x.pdf")], cli_env
    )
    assert wrong_format.returncode == 1 and "Export as csv, xlsx or vcf." in wrong_format.stderr
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    unreadable = guanxi(["import", "customers", str(broken)], cli_env)
    assert unreadable.returncode == 1
    assert unreadable.stderr.strip() == "guanxi: The file is not a readable XLSX workbook."
    for reply in (bad_mapping, nobody, wrong_format, unreadable):
        assert "Traceback" not in reply.stderr and len(reply.stderr.strip().splitlines()) == 1
