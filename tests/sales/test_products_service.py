"""The product catalogue's use cases: validation of SKUs and money, optimistic locking, the
idempotent upsert by external id, deletion rules, lists and the CSV/XLSX import."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.errors import Conflict, InvalidInput, PermissionDenied, PreconditionFailed
from guanxi.sales.models import Order, OrderLine, Product
from guanxi.sales.products import importing
from guanxi.sales.products import service as products
from guanxi.sales.products.schemas import ProductCreate, ProductUpdate, ProductUpsert
from tests.conftest import People


def _audits(session: Session, product_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "product")
    if product_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == str(product_id))
    return int(session.scalar(stmt) or 0)


def _new(session: Session, people: People, **fields: object) -> Product:
    admin = people.user("admin").user
    values = {"sku": "TEA-001", "name": "龙井茶", "list_price": "128.00", "unit_cost": "80"}
    return products.create(
        session=session, actor=admin, product_in=ProductCreate.model_validate(values | fields)
    )


def test_create_keeps_money_exact_and_computes_the_margin(session: Session, people: People):
    product = _new(session, people, list_price="0.30", unit_cost="0.10", category="茶叶")
    session.expire_all()
    stored = session.get(Product, product.id)
    assert stored is not None
    assert stored.list_price == Decimal("0.30") and isinstance(stored.list_price, Decimal)
    assert products.to_read(stored).margin_percent == Decimal("66.7")
    assert products.margin_percent(Decimal("0"), Decimal("5")) is None
    assert products.margin_percent(Decimal("10"), Decimal("12")) == Decimal("-20.0")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("list_price", "-1", "Must not be negative."),
        ("unit_cost", "1.005", "Use at most two decimal places."),
        ("list_price", "abc", "Must be a number."),
        ("sku", "   ", "string_too_short"),
    ],
)
def test_bad_values_are_refused_by_the_schema(field: str, value: str, message: str):
    values = {"sku": "A", "name": "n", field: value}
    with pytest.raises(ValidationError) as refused:
        ProductCreate.model_validate(values)
    assert message in str(refused.value)


def test_money_boundaries_accept_two_decimals_zero_and_typed_forms():
    accepted = ProductCreate.model_validate(
        {"sku": "A", "name": "n", "list_price": "¥1,234.50", "unit_cost": 0}
    )
    assert accepted.list_price == Decimal("1234.50")
    assert accepted.unit_cost == Decimal("0.00")
    assert ProductCreate.model_validate(
        {"sku": "A", "name": "n", "list_price": 19.99}
    ).list_price == (Decimal("19.99"))


def test_a_taken_sku_is_a_conflict_naming_the_field(session: Session, people: People):
    _new(session, people)
    with pytest.raises(Conflict) as refused:
        _new(session, people, name="另一个")
    assert refused.value.errors[0].field == "sku"


def test_update_checks_the_version_and_changes_only_what_was_sent(session: Session, people: People):
    product = _new(session, people, category="茶叶", unit="盒")
    admin = people.user("admin").user
    with pytest.raises(PreconditionFailed):
        products.update(
            session=session,
            actor=admin,
            product=product,
            product_in=ProductUpdate(list_price=Decimal("1")),
            expected_version=product.version + 1,
        )
    before = product.version
    products.update(
        session=session,
        actor=admin,
        product=product,
        product_in=ProductUpdate(list_price=Decimal("150")),
        expected_version=before,
    )
    assert product.version == before + 1
    assert (product.list_price, product.category, product.unit) == (Decimal("150"), "茶叶", "盒")


def test_upsert_by_external_id_twice_changes_nothing(session: Session, people: People):
    admin = people.user("admin").user
    body = ProductUpsert(sku="ERP-1", name="普洱", list_price=Decimal("88.80"))
    product, created, changed = products.upsert_by_external_id(
        session=session, actor=admin, external_id="erp-1", product_in=body
    )
    assert (created, changed) == (True, False)
    version, audits = product.version, _audits(session, product.id)
    again, created, changed = products.upsert_by_external_id(
        session=session, actor=admin, external_id="erp-1", product_in=body
    )
    assert (again.id, created, changed) == (product.id, False, False)
    assert again.version == version and _audits(session, product.id) == audits
    changed_body = body.model_copy(update={"list_price": Decimal("90")})
    _, created, changed = products.upsert_by_external_id(
        session=session, actor=admin, external_id="erp-1", product_in=changed_body
    )
    assert (created, changed) == (False, True)
    assert again.version == version + 1 and _audits(session, product.id) == audits + 1


def test_upsert_adopts_a_catalogue_product_with_the_same_sku(session: Session, people: People):
    product = _new(session, people)
    admin = people.user("admin").user
    body = ProductUpsert(sku="TEA-001", name="龙井茶", list_price=Decimal("128"))
    adopted, created, changed = products.upsert_by_external_id(
        session=session, actor=admin, external_id="erp-9", product_in=body
    )
    assert adopted.id == product.id and not created and changed
    assert adopted.external_id == "erp-9"
    with pytest.raises(Conflict):  # the SKU now belongs to erp-9
        products.upsert_by_external_id(
            session=session, actor=admin, external_id="erp-10", product_in=body
        )


def _order_with(session: Session, people: People, product: Product) -> None:
    owner = people.user("admin").user
    customer = customer_service.create(
        session=session, actor=owner, customer_in=CustomerCreate(name="杭州青山茶业")
    )
    order = Order(number="SO-TEST-1", customer_id=customer.id, owner_id=owner.id)
    order.lines = [
        OrderLine(line_no=1, product_id=product.id, quantity=Decimal(1), unit_price=Decimal(1))
    ]
    session.add(order)
    session.flush()


def test_a_product_on_an_order_can_be_deactivated_but_not_deleted(session: Session, people: People):
    admin = people.user("admin").user
    used, unused = _new(session, people), _new(session, people, sku="TEA-002")
    _order_with(session, people, used)
    with pytest.raises(Conflict):
        products.delete(session=session, actor=admin, product=used, expected_version=None)
    products.deactivate(session=session, actor=admin, product=used, expected_version=None)
    assert not used.is_active
    unused_id = unused.id
    products.delete(session=session, actor=admin, product=unused, expected_version=None)
    assert session.get(Product, unused_id) is None


def test_list_filters_sorts_by_price_and_pages_without_repeats(session: Session, people: People):
    admin = people.user("admin").user
    for i in range(7):
        _new(
            session,
            people,
            sku=f"P-{i}",
            name=f"绿茶 {i}" if i % 2 else f"红茶 {i}",
            list_price=str(10 + i % 3),
            category="茶叶" if i < 5 else "茶具",
            is_active=i != 6,
        )
    spec = products.ProductFilter(category="茶叶")
    seen: list[str] = []
    cursor = None
    while True:
        page = products.list_products(
            session=session,
            actor=admin,
            spec=spec,
            sort="list_price",
            descending=True,
            limit=2,
            cursor=cursor,
        )
        seen += [p.sku for p in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == ["P-0", "P-1", "P-2", "P-3", "P-4"] and len(seen) == 5
    prices = [session.scalar(select(Product.list_price).where(Product.sku == s)) for s in seen]
    assert prices == sorted(prices, reverse=True)
    found = products.list_products(
        session=session, actor=admin, spec=products.ProductFilter(q="绿")
    )
    assert {p.sku for p in found.items} == {"P-1", "P-3", "P-5"}
    inactive = products.ProductFilter(active=False)
    assert [
        p.sku for p in products.list_products(session=session, actor=admin, spec=inactive).items
    ] == ["P-6"]
    assert products.categories(session=session, actor=admin) == ["茶具", "茶叶"]
    with pytest.raises(InvalidInput):
        products.list_products(session=session, actor=admin, spec=spec, sort="unit_cost")


# ---------------------------------------------------------------- import


def _csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(rows)
    return path


ROWS = [
    ["货号", "产品名称", "类别", "售价", "成本", "单位", "是否启用"],
    ["T-1", "西湖龙井", "茶叶", "128.00", "80", "盒", "是"],
    ["T-2", "安吉白茶", "茶叶", "-5", "40", "盒", "是"],
    ["T-3", "紫砂壶", "茶具", "399.999", "200", "把", "否"],
    ["", "无货号", "茶具", "10", "5", "个", "是"],
    ["T-4", "玻璃杯", "茶具", "25", "8", "个", "也许"],
    ["T-1", "重复的", "茶叶", "1", "1", "盒", "是"],
    ["T-5", "茶盘", "茶具", "￥1,280.5", "600", "个", "否"],
]


def test_a_gbk_csv_with_chinese_headers_imports_good_rows_and_refuses_bad_ones(
    session: Session, people: People, tmp_path: Path
):
    admin = people.user("admin").user
    path = _csv(tmp_path / "产品.csv", ROWS, encoding="gbk")
    outcome = importing.import_file(session=session, actor=admin, path=path, filename=path.name)
    assert (outcome.rows, outcome.created, outcome.refused) == (7, 2, 5)
    refusals = {(r.row, r.column): r.english() for r in outcome.refusals}
    assert refusals == {
        (3, "售价"): "Must not be negative.",
        (4, "售价"): "Use at most two decimal places.",
        (5, "货号"): "The SKU is missing.",
        (6, "是否启用"): "Write yes or no (是 or 否).",
        (7, "货号"): "The same value is in row 2 already.",
    }
    stored = {p.sku: p for p in session.scalars(select(Product))}
    assert set(stored) == {"T-1", "T-5"}
    assert stored["T-5"].list_price == Decimal("1280.50") and not stored["T-5"].is_active
    assert stored["T-1"].category == "茶叶" and stored["T-1"].unit == "盒"
    report = b"".join(importing.report_csv(outcome)).decode("utf-8-sig").splitlines()
    assert report[0] == "Row,Column,Reason,货号,产品名称,类别,售价,成本,单位,是否启用"
    # "-5" is written as "'-5" so that a spreadsheet does not take the cell for a formula
    assert report[1] == "3,售价,Must not be negative.,T-2,安吉白茶,茶叶,'-5,40,盒,是"
    import_audits = select(func.count()).where(AuditEntry.entity_type == "product_import")
    assert session.scalar(import_audits) == 1


def test_reimport_changes_nothing_and_a_dry_run_writes_nothing(
    session: Session, people: People, tmp_path: Path
):
    admin = people.user("admin").user
    path = _csv(tmp_path / "products.csv", [["SKU", "Name", "Price"], ["A-1", "Cup", "9.90"]])
    dry = importing.import_file(
        session=session, actor=admin, path=path, filename=path.name, dry_run=True
    )
    assert dry.created == 1 and session.scalar(select(func.count()).select_from(Product)) == 0
    assert _audits(session) == 0
    importing.import_file(session=session, actor=admin, path=path, filename=path.name)
    version, audits = session.scalars(select(Product.version)).one(), _audits(session)
    again = importing.import_file(session=session, actor=admin, path=path, filename=path.name)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert session.scalars(select(Product.version)).one() == version
    assert _audits(session) == audits


def test_an_xlsx_file_imports_by_english_headers(session: Session, people: People, tmp_path: Path):
    admin = people.user("admin").user
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["SKU", "Name", "Category", "List price", "Unit cost", "External id"])
    sheet.append(["X-1", "Kettle", "Tools", 19.99, 7.5, "erp-x1"])
    sheet.append(["X-2", "Tray", "Tools", "free", 3, "erp-x2"])
    sheet.append(["X-3", None, "Tools", 5, 1, None])
    path = tmp_path / "products.xlsx"
    book.save(path)
    outcome = importing.import_file(session=session, actor=admin, path=path, filename=path.name)
    assert (outcome.created, outcome.refused) == (1, 2)
    assert {(r.row, r.column, r.english()) for r in outcome.refusals} == {
        (3, "List price", "Must be a number."),
        (4, "Name", "A new product needs a name."),
    }
    kettle = session.scalars(select(Product)).one()
    assert (kettle.list_price, kettle.unit_cost, kettle.external_id) == (
        Decimal("19.99"),
        Decimal("7.50"),
        "erp-x1",
    )


def test_import_needs_the_right_to_create_products(
    session: Session, people: People, tmp_path: Path
):
    path = _csv(tmp_path / "p.csv", [["SKU", "Name"], ["A", "B"]])
    with pytest.raises(PermissionDenied):
        importing.import_file(
            session=session, actor=people.user("sales").user, path=path, filename="p.csv"
        )


def test_too_many_rows_are_refused_with_413(
    session: Session, people: People, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    path = _csv(tmp_path / "p.csv", [["SKU", "Name"]] + [[f"S{i}", "n"] for i in range(4)])
    with pytest.raises(importing.TooLarge) as refused:
        importing.import_file(
            session=session, actor=people.user("admin").user, path=path, filename="p.csv"
        )
    assert refused.value.status == 413
    assert session.scalar(select(func.count()).select_from(Product)) == 0
