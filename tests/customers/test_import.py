"""Importing customers and contacts: file formats, mapping, validation, idempotent upserts,
atomic batches, visibility, and the API and pages that drive it."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from guanxi.audit import chain, personal
from guanxi.audit.models import AuditEntry
from guanxi.config import Settings
from guanxi.customers import custom_fields
from guanxi.customers.models import Contact, Customer, CustomerPhone, ImportRun
from guanxi.customers.schemas import CustomerCreate, CustomFieldIn
from guanxi.customers.transfer import (
    column_mapping,
    file_formats,
    import_report,
    importing,
)
from guanxi.customers.transfer.file_formats import SourceRow
from guanxi.customers.transfer.import_rows import CustomerRules
from guanxi.db import Database
from guanxi.errors import InvalidInput
from tests.conftest import PASSWORD, People, Person
from tests.customers.import_helpers import SavepointUnits, app_running_jobs_inline, write_csv
from tests.web.forms import csrf_from, sign_in


@pytest.fixture
def units(sessions: sessionmaker[Session]) -> SavepointUnits:
    return SavepointUnits(sessions)


def run_import(
    session: Session,
    units: SavepointUnits,
    person: Person | None,
    path: Path,
    *,
    batch_rows: int = importing.BATCH_ROWS,
    actor_id: int | None = None,
    **options: object,
) -> ImportRun:
    """Record and execute an import as ``person`` (None: the command line's administrator)."""
    actor = person.user if person else _admin(session)
    run = importing.start_run(
        session=session,
        actor=actor,
        path=path,
        filename=path.name,
        work_dir=path.parent,
        **options,  # type: ignore[arg-type]
    )
    session.flush()
    return importing.execute_run(
        db=units,
        run_id=run.id,
        actor_id=person.user.id if person else actor_id,
        batch_rows=batch_rows,
    )


def _admin(session: Session):  # type: ignore[no-untyped-def]
    from guanxi.auth import service as auth_service
    from guanxi.auth.models import User
    from guanxi.auth.permissions import ADMIN_ROLE

    role = auth_service.get_role_by_name(session=session, name=ADMIN_ROLE)
    return User(username="system", role=role, is_active=True)


def customers(session: Session) -> list[Customer]:
    session.expire_all()
    return list(session.scalars(select(Customer).order_by(Customer.id)))


def report(run: ImportRun) -> list[tuple[int, str, str]]:
    return [
        (line["row"], line["field"], line["message"]) for line in import_report.report_lines(run)
    ]


# ---------------------------------------------------------------- mapping


def test_usual_chinese_and_english_headers_map_without_a_mapping():
    chinese = ["客户编号", "姓名", "手机号", "联系电话", "邮箱", "公司", "城市", "省份", "地址"]
    chinese += ["性别", "出生日期", "行业", "职业", "来源", "标签", "备注", "负责人", "身份证号"]
    mapping = column_mapping.auto_mapping(chinese, "customers")
    assert mapping == {
        "客户编号": "external_id",
        "姓名": "name",
        "手机号": "phones",
        "联系电话": "phones",
        "邮箱": "emails",
        "公司": "company",
        "城市": "city",
        "省份": "region",
        "地址": "address",
        "性别": "gender",
        "出生日期": "birthday",
        "行业": "industry",
        "职业": "occupation",
        "来源": "source_channel",
        "标签": "tags",
        "备注": "notes",
        "负责人": "owner",
        "身份证号": "id_number",
    }
    english = ["Customer ID", "Full Name", "Mobile", "E-mail", "Company", "City", "Region"]
    english += ["Gender", "Date of birth", "Tags", "Notes", "Owner", "Unrelated"]
    assert column_mapping.auto_mapping(english, "customers") == {
        "Customer ID": "external_id",
        "Full Name": "name",
        "Mobile": "phones",
        "E-mail": "emails",
        "Company": "company",
        "City": "city",
        "Region": "region",
        "Gender": "gender",
        "Date of birth": "birthday",
        "Tags": "tags",
        "Notes": "notes",
        "Owner": "owner",
        "Unrelated": "",
    }
    # spelling noise Excel users add, and one scalar field fed by one column only
    noisy = column_mapping.auto_mapping(["*姓名", "手机（必填）", "名称", " E_mail "], "customers")
    assert noisy == {"*姓名": "name", "手机（必填）": "phones", "名称": "", " E_mail ": "emails"}


def test_a_mapping_names_known_fields_once_and_needs_a_name():
    columns = ["a", "b", "c"]
    with pytest.raises(InvalidInput) as unknown:
        column_mapping.check_mapping({"a": "name", "b": "shoe_size"}, columns, "customers", [])
    assert [e.field for e in unknown.value.errors] == ["b"]
    with pytest.raises(InvalidInput) as twice:
        column_mapping.check_mapping({"a": "name", "b": "name"}, columns, "customers", [])
    assert [e.field for e in twice.value.errors] == ["b"]
    with pytest.raises(InvalidInput) as nameless:
        column_mapping.check_mapping({"a": "phones"}, columns, "customers", [])
    assert [e.field for e in nameless.value.errors] == ["name"]
    both_phones = {"a": "name", "b": "phones", "c": "phones"}
    assert column_mapping.check_mapping(both_phones, columns, "customers", []) == both_phones


def test_row_checks_agree_with_the_api_schema():
    """The import's checks (run without Pydantic for speed) accept and refuse what
    ``CustomerCreate`` accepts and refuses."""
    rules = CustomerRules({c: c for c in ("name", "phones", "emails", "city", "gender")})
    cases = [
        {"name": "张伟", "phones": "13800138000"},
        {"name": "张伟", "phones": "+86 138 0013 8000"},
        {"name": "Li Na", "phones": "020-8888 6666", "emails": "Li.Na@Example.COM"},
        {"name": "Li Na", "phones": "12"},
        {"name": "Li Na", "emails": "not-an-address"},
        {"name": "x" * 200},
        {"name": "x" * 201},
        {"name": "张伟", "city": "上" * 61},
        {"name": "张伟", "gender": "male"},
        {"name": "张伟", "gender": "unknown"},
    ]
    for case in cases:
        checked = rules.check(SourceRow(2, dict(case)))
        try:
            expected = CustomerCreate.model_validate(
                {
                    **case,
                    "phones": [case["phones"]] if "phones" in case else [],
                    "emails": [case["emails"]] if "emails" in case else [],
                }
            )
        except ValidationError:
            assert isinstance(checked, list), case
            continue
        assert not isinstance(checked, list), (case, checked)
        assert checked.phones == [p.number for p in expected.phones]
        assert checked.emails == [e.address for e in expected.emails]


# ---------------------------------------------------------------- CSV


GBK_ROWS = [
    ["客户编号", "姓名", "手机", "邮箱", "城市", "性别", "生日", "标签"],
    [
        "C001",
        "张伟",
        "138 0013 8000",
        "zhang.wei@example.cn",
        "上海",
        "男",
        "1985/3/14",
        "VIP、老客户",
    ],
    ["C002", "王芳", "13900139000", "", "北京", "女", "1990-07-01", ""],
    ["C003", "李娜", "1234", "", "广州", "", "", ""],
    ["C004", "", "13700137000", "", "深圳", "", "", ""],
    ["C005", "刘洋", "13600136000", "liu@", "杭州", "", "", ""],
    ["C006", "陈静", "13500135000", "", "成都", "男女", "1990-13-01", ""],
    ["C007", "赵敏", "+86 135 0013 5001", "zhao.min@example.cn", "武汉", "女", "", "VIP"],
]


def test_gbk_csv_with_broken_rows(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    path = write_csv(tmp_path / "客户.csv", GBK_ROWS, encoding="gbk")
    assert file_formats.detect_encoding(path) == "gb18030"
    admin = people.user("admin")
    first = run_import(session, units, admin, path)
    assert (first.status, first.inserted, first.rejected) == ("finished", 3, 4)
    assert report(first) == [
        (4, "手机", "Not a phone number."),
        (5, "姓名", "This field is required."),
        (6, "邮箱", "Not an e-mail address."),
        (7, "性别", "Use one of: {choices}."),
        (7, "生日", "Write dates as 2026-11-23."),
    ]
    stored = {c.external_id: c for c in customers(session)}
    assert sorted(stored) == ["C001", "C002", "C007"]
    zhang = stored["C001"]
    assert (zhang.name, zhang.city, zhang.gender, str(zhang.birthday)) == (
        "张伟",
        "上海",
        "male",
        "1985-03-14",
    )
    assert [p.number for p in zhang.phones] == ["+8613800138000"]
    assert [t.name for t in zhang.tags] == ["VIP", "老客户"]
    assert zhang.owner_id == admin.user.id

    second = run_import(session, units, admin, path)
    assert (second.inserted, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 4)
    assert len(customers(session)) == 3
    assert session.scalar(select(func.count()).select_from(CustomerPhone)) == 3


def test_utf8_csv_with_and_without_bom_and_semicolons(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    admin = people.user("admin")
    bom = write_csv(tmp_path / "bom.csv", [["姓名", "手机"], ["张伟", "13800138000"]])
    plain = tmp_path / "plain.csv"
    plain.write_text("Name;Phone\nLi Na;13900139000\n", encoding="utf-8")
    assert file_formats.detect_encoding(bom) == "utf-8-sig"
    assert run_import(session, units, admin, bom).inserted == 1
    assert run_import(session, units, admin, plain).inserted == 1
    assert sorted(c.name for c in customers(session)) == ["Li Na", "张伟"]


def test_changed_rows_are_updated_and_audited_with_before_and_after(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    admin = people.user("admin")
    header = ["编号", "姓名", "手机", "邮箱", "城市", "标签"]
    first = ["C1", "张伟", "13800138000", "a@example.cn", "上海", "VIP"]
    run_import(session, units, admin, write_csv(tmp_path / "a.csv", [header, first]))
    second = ["C1", "张伟", "13800138000 / 13900139000", "b@example.cn", "杭州", "新客"]
    run = run_import(session, units, admin, write_csv(tmp_path / "b.csv", [header, second]))
    assert (run.inserted, run.updated, run.unchanged) == (0, 1, 0)
    (customer,) = customers(session)
    assert customer.city == "杭州"
    assert customer.version == 2
    # phones and e-mails are added after those the customer had, never replacing them
    assert [(p.number, p.position) for p in customer.phones] == [
        ("+8613800138000", 0),
        ("+8613900139000", 1),
    ]
    assert [(e.address, e.position) for e in customer.emails] == [
        ("a@example.cn", 0),
        ("b@example.cn", 1),
    ]
    assert sorted(t.name for t in customer.tags) == ["VIP", "新客"]
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer.id))
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and entry.action == "update"
    readable = personal.unseal_changes(session, "customer", str(customer.id), entry.changes)
    assert readable["city"] == {"before": "上海", "after": "杭州"}
    assert readable["phones"]["after"] == ["+8613800138000", "+8613900139000"]
    assert readable["import_run"] == {"after": run.id}
    # the city is stored as is, the phones sealed with the customer's key (erasable)
    assert entry.changes["city"] == {"before": "上海", "after": "杭州"}
    assert personal.is_sealed(entry.changes["phones"]["after"])
    assert chain.verify(session.connection()).intact


def test_new_customers_are_audited_one_entry_each_in_the_chain(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    admin = people.user("admin")
    rows = [["姓名", "手机", "身份证号"]] + [
        [f"客户{i}", f"1380013{i:04d}", "11010519491231002X" if i == 0 else ""] for i in range(5)
    ]
    run = run_import(session, units, admin, write_csv(tmp_path / "five.csv", rows))
    created = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "customer", AuditEntry.action == "create"
        )
    ).all()
    assert len(created) == run.inserted == 5
    first = customers(session)[0]
    entry = next(e for e in created if e.entity_id == str(first.id))
    readable = personal.unseal_changes(session, "customer", str(first.id), entry.changes)
    assert readable["name"] == {"after": "客户0"}
    assert readable["id_number_encrypted"] == {"after": "[redacted]"}
    assert "11010519491231002X" not in json.dumps(entry.changes)
    assert first.id_number_encrypted and first.id_number_index
    assert chain.verify(session.connection()).intact


def test_possible_duplicates_are_imported_and_reported(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    admin = people.user("admin")
    header = ["姓名", "手机", "城市"]
    run_import(
        session,
        units,
        admin,
        write_csv(tmp_path / "a.csv", [header, ["张伟", "13800138000", "上海"]]),
    )
    (existing,) = customers(session)
    again = write_csv(
        tmp_path / "b.csv",
        [header, ["张 伟", "13900139000", "上海"], ["张伟", "13700137000", "北京"]],
    )
    run = run_import(session, units, admin, again)
    assert (run.inserted, run.possible_duplicates) == (2, 1)
    lines = list(import_report.report_lines(run))
    assert [(line["row"], line["params"]) for line in lines] == [(2, {"id": existing.id})]
    assert len(customers(session)) == 3


def test_repeated_keys_in_one_file_are_refused_not_applied_twice(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    admin = people.user("admin")
    rows = [
        ["姓名", "手机"],
        ["张伟", "13800138000"],
        ["张伟明", "138 0013 8000"],
        ["王芳", "13900139000"],
        ["王小芳", "13900139000"],
    ]
    path = write_csv(tmp_path / "dup.csv", rows)
    # one batch, then batches of one row: the same outcome either way
    for batch_rows in (100, 1):
        run = run_import(session, units, admin, path, batch_rows=batch_rows)
        assert run.rejected == 2, batch_rows
        assert [line[0] for line in report(run)] == [3, 5]
    assert sorted(c.name for c in customers(session)) == ["张伟", "王芳"]


# ---------------------------------------------------------------- atomic batches


def test_an_import_killed_mid_way_leaves_whole_batches_and_completes_on_a_rerun(
    session: Session,
    units: SavepointUnits,
    people: People,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    admin = people.user("admin")
    rows = [["编号", "姓名", "手机", "邮箱"]] + [
        [f"K{i:03d}", f"客户{i}", f"1370000{i:04d}", f"k{i}@example.cn"] for i in range(25)
    ]
    path = write_csv(tmp_path / "big.csv", rows)
    real_write_part = import_report.write_part
    calls = {"n": 0}

    def crash_in_third_batch(*args: object, **kwargs: object) -> None:
        # runs after the batch's rows were written, before its transaction commits
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        real_write_part(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(import_report, "write_part", crash_in_third_batch)
    run = importing.start_run(
        session=session, actor=admin.user, path=path, filename=path.name, work_dir=tmp_path
    )
    session.flush()
    with pytest.raises(RuntimeError, match="killed"):
        importing.execute_run(db=units, run_id=run.id, actor_id=admin.user.id, batch_rows=10)
    stopped = session.get(ImportRun, run.id, populate_existing=True)
    assert stopped is not None
    assert (stopped.status, stopped.processed_rows, stopped.inserted) == ("failed", 20, 20)
    assert "killed" in importing.failure(stopped)[1]["reason"]
    assert len(customers(session)) == 20  # two whole batches, nothing of the third
    audited = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "customer")
    )
    assert audited == 20

    monkeypatch.setattr(import_report, "write_part", real_write_part)
    done = importing.execute_run(db=units, run_id=run.id, actor_id=admin.user.id, batch_rows=10)
    assert (done.status, done.processed_rows, done.inserted, done.rejected) == (
        "finished",
        25,
        25,
        0,
    )
    stored = customers(session)
    assert sorted(c.external_id or "" for c in stored) == [f"K{i:03d}" for i in range(25)]
    phones = session.scalars(select(CustomerPhone.number)).all()
    assert len(phones) == len(set(phones)) == 25
    assert chain.verify(session.connection()).intact


def test_a_run_another_worker_has_taken_is_left_to_it(
    session: Session,
    units: SavepointUnits,
    people: People,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """A retried job that finds the run moved on by another worker stops without touching it
    (and without calling the run failed)."""
    admin = people.user("admin")
    rows = [["姓名", "手机"]] + [[f"客户{i}", f"1370000{i:04d}"] for i in range(25)]
    path = write_csv(tmp_path / "taken.csv", rows)
    run = importing.start_run(
        session=session, actor=admin.user, path=path, filename=path.name, work_dir=tmp_path
    )
    session.flush()
    real_write_part = import_report.write_part

    def other_worker_claims_the_next_batch(*args: object) -> None:
        real_write_part(*args)  # type: ignore[arg-type]
        with units.unit_of_work() as other:
            other.execute(update(ImportRun).where(ImportRun.id == run.id).values(processed_rows=20))

    monkeypatch.setattr(import_report, "write_part", other_worker_claims_the_next_batch)
    left = importing.execute_run(db=units, run_id=run.id, actor_id=admin.user.id, batch_rows=10)
    assert (left.status, left.inserted, left.processed_rows) == ("running", 10, 20)
    assert len(customers(session)) == 10


def test_a_finished_run_is_not_imported_again(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    admin = people.user("admin")
    path = write_csv(tmp_path / "one.csv", [["姓名"], ["张伟"]])
    run = run_import(session, units, admin, path)
    again = importing.execute_run(db=units, run_id=run.id, actor_id=admin.user.id)
    assert (again.status, again.inserted, again.processed_rows) == ("finished", 1, 1)
    assert len(customers(session)) == 1


def test_a_dry_run_counts_and_writes_nothing(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    admin = people.user("admin")
    path = write_csv(tmp_path / "gbk.csv", GBK_ROWS, encoding="gbk")
    run = run_import(session, units, admin, path, dry_run=True)
    assert (run.status, run.inserted, run.rejected) == ("finished", 3, 4)
    assert customers(session) == []


# ---------------------------------------------------------------- XLSX


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_import_reads_numbers_and_dates_as_people_typed_them(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    from datetime import datetime

    path = _workbook(
        tmp_path / "客户.xlsx",
        [
            ["客户名称", "手机号码", "出生日期", "城市", "风险等级"],
            ["张伟", 13800138000, datetime(1985, 3, 14), "上海", "高"],
            [None, None, None, None, None],
            ["王芳", "139 0013 9000", "1990-07-01", "北京", "低"],
            ["李娜", 12.5, None, "广州", None],
        ],
    )
    run = run_import(session, units, people.user("admin"), path)
    assert (run.file_format, run.inserted, run.rejected) == ("xlsx", 2, 1)
    assert report(run) == [(5, "手机号码", "Not a phone number.")]
    zhang = next(c for c in customers(session) if c.name == "张伟")
    assert [p.number for p in zhang.phones] == ["+8613800138000"]
    assert (str(zhang.birthday), zhang.risk_level) == ("1985-03-14", "high")


_BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>"
)
_EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
)


def _poisoned(path: Path, source: Path, prolog: str, entity: str) -> Path:
    """A copy of a workbook whose first sheet declares entities and uses one in a cell."""
    with zipfile.ZipFile(source) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = parts[sheet].decode()
    body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
    parts[sheet] = (prolog + body.replace("张伟", f"&{entity};", 1)).encode()
    with zipfile.ZipFile(path, "w") as poisoned:
        for name, data in parts.items():
            poisoned.writestr(name, data)
    return path


@pytest.mark.parametrize(("prolog", "entity"), [(_BILLION_LAUGHS, "j"), (_EXTERNAL_ENTITY, "x")])
def test_xlsx_entity_expansion_is_refused_with_a_clear_error(
    session: Session, people: People, tmp_path: Path, prolog: str, entity: str
):
    clean = tmp_path / "clean.xlsx"
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["姓名", "手机"])
    sheet.append(["张伟", "13800138000"])
    book.save(clean)
    bomb = _poisoned(tmp_path / "bomb.xlsx", clean, prolog, entity)
    with pytest.raises(InvalidInput) as refused:
        importing.start_run(
            session=session, actor=people.user("admin").user, path=bomb, filename="bomb.xlsx"
        )
    assert "entity declarations" in refused.value.detail
    # openpyxl, reached without our check, refuses too (it parses through defusedxml)
    assert openpyxl.DEFUSEDXML
    with pytest.raises(ValueError):
        book = openpyxl.load_workbook(bomb, read_only=True)
        list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]


# ---------------------------------------------------------------- vCard

VCARD_3 = """BEGIN:VCARD
VERSION:3.0
N:张;伟;;;
FN:张伟
ORG:华为技术;研发部
TITLE:工程师
TEL;TYPE=CELL:138 0013 8000
TEL;TYPE=WORK:0755-2878 0808
EMAIL;TYPE=INTERNET:Zhang.Wei@Example.com
ADR;TYPE=WORK:;;坂田街道;深圳;广东;518129;中国
BDAY:1985-03-14
CATEGORIES:VIP,老客户
UID:V3-001
END:VCARD
BEGIN:VCARD
VERSION:3.0
N:Smith;John;;;
FN:John Smith
TEL:+1 650 253 0000
END:VCARD
"""

VCARD_4 = """BEGIN:VCARD
VERSION:4.0
FN:王芳
N:王;芳;;;
TEL;VALUE=uri;TYPE="cell,voice":tel:+86-139-0013-9000
EMAIL;TYPE=work:wang.fang@example.cn
GENDER:F
BDAY:19900701
NOTE:老客户\\, 喜欢茶
UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:坏号码
TEL;VALUE=uri:tel:12
END:VCARD
"""


def test_vcard_3_and_4_import(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    admin = people.user("admin")
    three = tmp_path / "contacts3.vcf"
    three.write_text(VCARD_3, encoding="utf-8")
    four = tmp_path / "contacts4.vcf"
    four.write_text(VCARD_4, encoding="utf-8")
    first = run_import(session, units, admin, three)
    assert (first.file_format, first.inserted, first.rejected) == ("vcf", 2, 0)
    second = run_import(session, units, admin, four)
    assert (second.inserted, second.rejected) == (1, 1)
    assert report(second) == [(2, "TEL", "Not a phone number.")]
    stored = {c.name: c for c in customers(session)}
    zhang = stored["张伟"]
    assert [p.number for p in zhang.phones] == ["+8613800138000", "+8675528780808"]
    assert [e.address for e in zhang.emails] == ["zhang.wei@example.com"]
    assert (zhang.company, zhang.occupation, zhang.city, zhang.region) == (
        "华为技术",
        "工程师",
        "深圳",
        "广东",
    )
    assert (zhang.address, zhang.postal_code, str(zhang.birthday)) == (
        "坂田街道",
        "518129",
        "1985-03-14",
    )
    assert (zhang.external_id, sorted(t.name for t in zhang.tags)) == ("V3-001", ["VIP", "老客户"])
    assert [p.number for p in stored["John Smith"].phones] == ["+16502530000"]
    wang = stored["王芳"]
    assert [p.number for p in wang.phones] == ["+8613900139000"]
    assert (wang.gender, str(wang.birthday), wang.notes) == (
        "female",
        "1990-07-01",
        "老客户, 喜欢茶",
    )
    assert run_import(session, units, admin, three).unchanged == 2


# ---------------------------------------------------------------- visibility


def test_a_sales_user_cannot_reach_another_teams_customer_through_matching(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    east, west = people.team("East"), people.team("West")
    owner = people.user("sales", team=east)
    other = people.user("sales", team=west)
    header = ["编号", "姓名", "手机", "城市"]
    run_import(
        session,
        units,
        owner,
        write_csv(tmp_path / "east.csv", [header, ["E1", "张伟", "13800138000", "上海"]]),
    )
    (theirs,) = customers(session)
    attempts = write_csv(
        tmp_path / "west.csv",
        [
            header,
            ["E1", "冒名", "", "北京"],  # the same external id
            ["", "冒名", "138 0013 8000", "北京"],  # the same phone
            ["W1", "王芳", "13900139000", "北京"],
        ],
    )
    run = run_import(session, units, other, attempts)
    assert (run.inserted, run.updated, run.rejected) == (1, 0, 2)
    reasons = {line["message"] for line in import_report.report_lines(run)}
    assert reasons == {"This row matches a record you may not change."}
    words = json.dumps(list(import_report.report_lines(run)), ensure_ascii=False)
    assert "张伟" not in words and "上海" not in words
    assert all(line["params"] == {} for line in import_report.report_lines(run))
    unchanged = customers(session)[0]
    assert unchanged.id == theirs.id
    assert (unchanged.name, unchanged.city, unchanged.version) == ("张伟", "上海", 1)
    mine = next(c for c in customers(session) if c.external_id == "W1")
    assert (mine.owner_id, mine.team_id) == (other.user.id, west.id)


def test_owner_column_and_default_owner(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    team = people.team("North")
    manager = people.user("manager", team=team)
    rep = people.user("sales", team=team, username="li.lei")
    rows = [["姓名", "负责人"], ["张伟", "Li.Lei"], ["王芳", ""], ["李娜", "nobody"]]
    run = run_import(session, units, manager, write_csv(tmp_path / "own.csv", rows), owner="li.lei")
    assert (run.inserted, run.rejected) == (2, 1)
    assert report(run) == [(4, "负责人", "Unknown or disabled user.")]
    assert {c.name: c.owner_id for c in customers(session)} == {
        "张伟": rep.user.id,
        "王芳": rep.user.id,
    }
    plain = run_import(session, units, manager, write_csv(tmp_path / "p.csv", [["姓名"], ["赵敏"]]))
    assert plain.inserted == 1
    assert next(c for c in customers(session) if c.name == "赵敏").owner_id == manager.user.id
    # records are handed only to people within the importer's sight, by column or by default
    people.user("sales", team=people.team("South"), username="far.away")
    far = [["姓名", "负责人"], ["钱进", "far.away"]]
    refused = run_import(session, units, manager, write_csv(tmp_path / "far.csv", far))
    assert (refused.inserted, refused.rejected) == (0, 1)
    assert report(refused) == [
        (2, "负责人", "You may hand records only to people whose records you can see.")
    ]
    with pytest.raises(InvalidInput):
        run_import(
            session,
            units,
            manager,
            write_csv(tmp_path / "x.csv", [["姓名"], ["孙丽"]]),
            owner="far.away",
        )


def test_runs_are_visible_to_their_creator_and_to_roles_that_see_everything(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    mine = people.user("sales")
    run = run_import(session, units, mine, write_csv(tmp_path / "x.csv", [["姓名"], ["张伟"]]))
    assert importing.get_run(session=session, actor=mine.user, run_id=run.id).id == run.id
    assert importing.get_run(session=session, actor=people.user("admin").user, run_id=run.id)
    with pytest.raises(Exception, match="was not found"):
        importing.get_run(session=session, actor=people.user("sales").user, run_id=run.id)


# ---------------------------------------------------------------- custom fields, contacts


def test_custom_fields_are_checked_by_their_definitions(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    custom_fields.create(
        session=session,
        field_in=CustomFieldIn(
            key="grade", label="客户等级", field_type="choice", choices=["A", "B"]
        ),
    )
    custom_fields.create(
        session=session, field_in=CustomFieldIn(key="since", label="Since", field_type="date")
    )
    rows = [["姓名", "客户等级", "cf.since"], ["张伟", "A", "2020-01-02"], ["王芳", "C", "soon"]]
    run = run_import(session, units, people.user("admin"), write_csv(tmp_path / "cf.csv", rows))
    assert run.mapping["columns"] == {
        "姓名": "name",
        "客户等级": "cf.grade",
        "cf.since": "cf.since",
    }
    assert (run.inserted, run.rejected) == (1, 1)
    assert sorted(line[1] for line in report(run)) == ["cf.since", "客户等级"]
    (zhang,) = customers(session)
    assert zhang.custom_fields == {"grade": "A", "since": "2020-01-02"}


def test_contacts_import_finds_organisations_the_importer_may_see(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path
):
    east, west = people.team("East"), people.team("West")
    seller = people.user("sales", team=east)
    stranger = people.user("sales", team=west)
    organisations = write_csv(
        tmp_path / "orgs.csv",
        [["编号", "客户名称", "类别"], ["ORG1", "华为技术", "企业"], ["ORG2", "个人客户", "个人"]],
    )
    run_import(session, units, seller, organisations)
    contacts = write_csv(
        tmp_path / "contacts.csv",
        [
            ["公司编号", "公司", "联系人", "职务", "手机", "邮箱", "角色"],
            ["ORG1", "", "李经理", "采购经理", "13800138000", "li@huawei.example", "决策者"],
            ["", "华为技术", "王工", "工程师", "13900139000", "", "使用者"],
            ["ORG2", "", "某人", "", "", "", ""],
            ["", "不存在", "某人", "", "", "", ""],
        ],
    )
    run = importing.start_run(
        session=session,
        actor=seller.user,
        path=contacts,
        filename=contacts.name,
        entity="contacts",
        work_dir=tmp_path,
    )
    session.flush()
    done = importing.execute_run(db=units, run_id=run.id, actor_id=seller.user.id)
    assert (done.inserted, done.rejected) == (2, 2)
    assert [line[2] for line in report(done)] == [
        "Contacts belong to organisations, not to persons.",
        "No organisation you may see has this external id or name.",
    ]
    stored = session.scalars(select(Contact).order_by(Contact.name)).all()
    assert [(c.name, c.purchase_role, c.organisation.name) for c in stored] == [
        ("李经理", "decision_maker", "华为技术"),
        ("王工", "user", "华为技术"),
    ]
    again = importing.start_run(
        session=session,
        actor=seller.user,
        path=contacts,
        filename=contacts.name,
        entity="contacts",
        work_dir=tmp_path,
    )
    session.flush()
    assert importing.execute_run(db=units, run_id=again.id, actor_id=seller.user.id).unchanged == 2
    # another team's seller reaches neither the organisation nor its contacts
    hidden = importing.start_run(
        session=session,
        actor=stranger.user,
        path=contacts,
        filename=contacts.name,
        entity="contacts",
        work_dir=tmp_path,
    )
    session.flush()
    refused = importing.execute_run(db=units, run_id=hidden.id, actor_id=stranger.user.id)
    assert (refused.inserted, refused.updated, refused.rejected) == (0, 0, 4)


def test_preview_shows_the_first_rows_with_their_problems(session: Session, tmp_path: Path):
    path = write_csv(tmp_path / "gbk.csv", GBK_ROWS, encoding="gbk")
    shown = importing.preview(session=session, path=path, filename=path.name, entity="customers")
    assert shown.columns == GBK_ROWS[0]
    assert shown.mapping["手机"] == "phones"
    assert [row.number for row, _ in shown.rows] == [2, 3, 4, 5, 6, 7, 8]
    assert [[e.field for e in errors] for _, errors in shown.rows] == [
        [],
        [],
        ["手机"],
        ["姓名"],
        ["邮箱"],
        ["性别", "生日"],
        [],
    ]


def test_batch_writes_one_statement_per_table_not_per_row(
    session: Session, units: SavepointUnits, people: People, tmp_path: Path, database: Database
):
    """The bulk path stays bulk: the statements a batch sends do not grow with its rows."""
    from sqlalchemy import event

    admin = people.user("admin")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def run_rows(n: int, prefix: str) -> int:
        rows = [["编号", "姓名", "手机", "邮箱"]] + [
            [
                f"{prefix}{i}",
                f"客户{i}",
                f"13{(prefix == 'A' and 6) or 7}0000{i:04d}",
                f"{prefix}{i}@x.cn",
            ]
            for i in range(n)
        ]
        statements.clear()
        event.listen(database.engine, "before_cursor_execute", count)
        try:
            run_import(session, units, admin, write_csv(tmp_path / f"{prefix}.csv", rows))
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
        return len(statements)

    assert run_rows(500, "B") <= run_rows(5, "A") + 2
    assert len(customers(session)) == 505


# ---------------------------------------------------------------- API and pages


@pytest.fixture
def jobs_client(
    settings: Settings,
    database: Database,
    sessions: sessionmaker[Session],
    session: Session,
) -> Iterator[TestClient]:
    session.flush()
    with TestClient(app_running_jobs_inline(settings, database, sessions)) as client:
        yield client


def _gbk_bytes() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(GBK_ROWS)
    return buffer.getvalue().encode("gbk")


def test_api_import_runs_in_the_background_and_reports_errors(
    jobs_client: TestClient, people: People, session: Session
):
    headers = people.token(people.user("sales"))
    reply = jobs_client.post(
        "/api/v1/imports",
        files={"file": ("客户.csv", _gbk_bytes(), "text/csv")},
        headers=headers,
    )
    assert reply.status_code == 202, reply.text
    run_id = reply.json()["id"]
    state = jobs_client.get(f"/api/v1/imports/{run_id}", headers=headers).json()
    assert (state["status"], state["inserted"], state["rejected"]) == ("finished", 3, 4)
    assert state["mapping"]["手机"] == "phones"
    assert state["errors_url"] == f"/api/v1/imports/{run_id}/errors"
    errors = jobs_client.get(state["errors_url"], headers=headers)
    assert errors.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert lines[0] == ["Row", "Field", "Reason", *GBK_ROWS[0]]
    assert lines[1] == ["4", "手机", "Not a phone number.", *GBK_ROWS[3]]
    assert lines[4][:3] == ["7", "性别", "Use one of: male, female, other."]
    # someone else's run is not found; an administrator's role sees every run
    other = people.token(people.user("sales"))
    assert jobs_client.get(f"/api/v1/imports/{run_id}", headers=other).status_code == 404
    admin = people.token(people.user("admin"))
    assert jobs_client.get(f"/api/v1/imports/{run_id}", headers=admin).status_code == 200


def test_api_import_with_a_mapping_and_dry_run(
    jobs_client: TestClient, people: People, session: Session
):
    headers = people.token(people.user("admin"))
    body = "Kunde;Telefon\n张伟;13800138000\n".encode()
    reply = jobs_client.post(
        "/api/v1/imports",
        files={"file": ("x.csv", body, "text/csv")},
        data={"mapping": json.dumps({"Kunde": "name", "Telefon": "phones"}), "dry_run": "true"},
        headers=headers,
    )
    assert reply.status_code == 202, reply.text
    state = jobs_client.get(f"/api/v1/imports/{reply.json()['id']}", headers=headers).json()
    assert (state["dry_run"], state["inserted"], state["errors_url"]) == (True, 1, None)
    assert customers(session) == []
    unmapped = jobs_client.post(
        "/api/v1/imports", files={"file": ("x.csv", body, "text/csv")}, headers=headers
    )
    assert unmapped.status_code == 422
    assert unmapped.json()["errors"] == [{"field": "name", "message": "Map a column to the name."}]


def test_api_refuses_an_xml_bomb_and_roles_without_create(
    jobs_client: TestClient, people: People, tmp_path: Path
):
    clean = _workbook(tmp_path / "clean.xlsx", [["姓名"], ["张伟"]])
    bomb = _poisoned(tmp_path / "bomb.xlsx", clean, _BILLION_LAUGHS, "j").read_bytes()
    headers = people.token(people.user("admin"))
    reply = jobs_client.post(
        "/api/v1/imports", files={"file": ("bomb.xlsx", bomb)}, headers=headers
    )
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert "entity declarations" in reply.json()["detail"]
    marketing = people.token(people.user("marketing"))
    refused = jobs_client.post(
        "/api/v1/imports", files={"file": ("a.csv", b"name\nx\n")}, headers=marketing
    )
    assert refused.status_code == 403


def test_import_pages_upload_map_preview_confirm_and_result(
    jobs_client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    sign_in(jobs_client, seller.username, PASSWORD)
    form = jobs_client.get("/customers/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    uploaded = jobs_client.post(
        "/customers/import",
        data={"csrf_token": csrf_from(form.text), "entity": "customers"},
        files={"file": ("客户.csv", _gbk_bytes(), "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    mapping_page = jobs_client.get(uploaded.headers["location"])
    assert mapping_page.status_code == 200
    page = mapping_page.text
    # the automatic mapping is pre-selected and each preview row shows its problems
    assert '<option value="phones" selected>' in page
    assert "Not a phone number." in page and "This field is required." in page
    token = re.search(r'name="upload" value="([^"]+)"', page)
    assert token is not None
    posted = {
        "csrf_token": csrf_from(page),
        "upload": html.unescape(token.group(1)),
        "entity": "customers",
        **{
            f"map.{i}": field
            for i, field in enumerate(
                ["external_id", "name", "phones", "emails", "city", "gender", "birthday", ""]
            )
        },
        "save_mapping": "on",
        "mapping_name": "店铺导出",
    }
    again = jobs_client.post("/customers/import/mapping", data={**posted, "action": "preview"})
    assert again.status_code == 200
    # the re-checked page keeps the choices made: the tags column is now left out
    assert "selected" not in _select(again.text, "map.7")
    assert '<option value="phones" selected>' in _select(again.text, "map.2")
    started = jobs_client.post(
        "/customers/import/mapping", data={**posted, "action": "start"}, follow_redirects=False
    )
    assert started.status_code == 303, started.text
    result = jobs_client.get(started.headers["location"])
    assert result.status_code == 200
    assert "data-import-run" not in result.text  # finished: no more polling
    assert "/errors.csv" in result.text
    report_csv = jobs_client.get(started.headers["location"] + "/errors.csv")
    assert report_csv.status_code == 200
    assert "Not a phone number." in report_csv.content.decode("utf-8-sig")
    assert {c.external_id for c in customers(session)} == {"C001", "C002", "C007"}
    # the tags column was left out on purpose
    assert all(not c.tags for c in customers(session))
    saved = column_mapping.list_mappings(session=session, entity="customers")
    assert [m.name for m in saved] == ["店铺导出"]
    assert jobs_client.get("/customers/import").text.count("店铺导出") == 1


def _select(page: str, name: str) -> str:
    start = page.index(f'name="{name}"')
    return page[start : page.index("</select>", start)]


def test_the_progress_page_polls_while_an_import_runs(
    client: TestClient, people: People, session: Session, tmp_path: Path
):
    seller = people.user("sales")
    path = write_csv(tmp_path / "wait.csv", [["姓名"], ["张伟"]])
    run = importing.start_run(session=session, actor=seller.user, path=path, filename="wait.csv")
    session.flush()
    sign_in(client, seller.username, PASSWORD)
    page = client.get(f"/customers/import/{run.id}").text
    assert f'data-import-run="/api/v1/imports/{run.id}"' in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript, inside <noscript>
    assert '<script src="/static/customers/import_progress.js"' in page
    script = client.get("/static/customers/import_progress.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "window.location.reload()" in script.text


def test_a_stopped_import_carries_on_from_its_page(
    jobs_client: TestClient,
    units: SavepointUnits,
    people: People,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    seller = people.user("sales")
    rows = [["姓名", "手机"]] + [[f"客户{i}", f"1370000{i:04d}"] for i in range(5)]
    path = write_csv(tmp_path / "stop.csv", rows)
    run = importing.start_run(
        session=session, actor=seller.user, path=path, filename="stop.csv", work_dir=tmp_path
    )
    session.flush()
    monkeypatch.setattr(import_report, "write_part", _fail)
    with pytest.raises(RuntimeError):
        importing.execute_run(db=units, run_id=run.id, actor_id=seller.user.id)
    monkeypatch.undo()
    sign_in(jobs_client, seller.username, PASSWORD)
    page = jobs_client.get(f"/customers/import/{run.id}").text
    assert "The import stopped: disk full" in page
    resumed = jobs_client.post(
        f"/customers/import/{run.id}/resume",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    assert resumed.status_code == 303
    session.expire_all()
    done = session.get(ImportRun, run.id)
    assert done is not None and (done.status, done.inserted) == ("finished", 5)


def _fail(*_args: object) -> None:
    raise RuntimeError("disk full")
