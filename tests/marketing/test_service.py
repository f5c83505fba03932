"""Saved segments as a service: a definition is checked before it is saved (each bad condition is
named), members are worked out whenever the segment is used and only among the customers the user
may see, and the preview gives size, value, tiers and trend by hand-checkable numbers."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer, CustomFieldDefinition
from guanxi.customers.schemas import CustomerUpdate
from guanxi.errors import Conflict, InvalidInput, PreconditionFailed
from guanxi.marketing.segments import service
from guanxi.marketing.segments.schemas import SegmentCreate, SegmentUpdate
from tests.conftest import People
from tests.marketing.support import SEGMENT, Book, customer


def _create(session: Session, book: Book, params: list[list[str]], name: str = "上海大客户"):  # type: ignore[no-untyped-def]
    return service.create(
        session=session,
        actor=book.analyst.user,
        segment_in=SegmentCreate(name=name, params=[tuple(p) for p in params]),  # type: ignore[misc]
    )


def _refused_fields(session: Session, book: Book, params: list[list[str]]) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        _create(session, book, params)
    return [e.field for e in refused.value.errors]


def _names(session: Session, book: Book, segment, who: str) -> list[str]:  # type: ignore[no-untyped-def]
    actor = getattr(book, who).user
    stmt = service.members(session=session, actor=actor, segment=segment)
    return sorted(c.name for c in session.scalars(stmt))


def test_a_saved_segment_keeps_its_conditions_in_order(session: Session, book: Book):
    segment = _create(session, book, [["city", " 上海 "], ["tier", "vip,key"], ["q", ""]])
    assert service.pairs_of(segment) == [("city", "上海"), ("tier", "vip,key")]
    assert segment.definition == {"params": [["city", "上海"], ["tier", "vip,key"]]}
    assert segment.owner_id == book.analyst.user.id
    assert service.list_url(service.pairs_of(segment)) == (
        "/customers?city=%E4%B8%8A%E6%B5%B7&tier=vip%2Ckey"
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ([["tier", "gold"]], "tier"),  # not a value tier
        ([["clv_min", "much"]], "clv_min"),  # not a number
        ([["cohort", "March"]], "cohort"),
        ([["created_from", "2026-13-01"]], "created_from"),
        ([["owner_id", "abc"]], "owner_id"),
        ([["bought_from", "2026-05-01"], ["bought_to", "2026-04-01"]], "bought_to"),
    ],
)
def test_a_bad_value_is_refused_naming_its_condition(
    session: Session, book: Book, params: list[list[str]], field: str
):
    assert _refused_fields(session, book, params) == [field]


def test_unknown_repeated_and_nested_conditions_are_refused_together(session: Session, book: Book):
    fields = _refused_fields(
        session,
        book,
        [
            ["colour", "red"],
            ["city", "上海"],
            ["city", "北京"],
            ["segment", "1"],
            ["kind", "robot"],
            ["channel", "pigeon"],
            ["owner_id", "999999"],
            ["cf.grade", "A"],
        ],
    )
    assert fields == ["colour", "city", "segment", "kind", "channel", "owner_id", "cf.grade"]


def test_tags_may_repeat_and_custom_fields_must_be_defined(session: Session, book: Book):
    session.add(
        CustomFieldDefinition(key="grade", label="等级", field_type="choice", choices=["A", "B"])
    )
    session.flush()
    assert _refused_fields(session, book, [["cf.grade", "C"]]) == ["cf.grade"]
    segment = _create(session, book, [["tag", "VIP"], ["tag", "老客户"], ["cf.grade", "A"]])
    assert service.pairs_of(segment) == [("tag", "VIP"), ("tag", "老客户"), ("cf.grade", "A")]


def test_a_segment_needs_a_condition_and_a_free_name(session: Session, book: Book):
    assert _refused_fields(session, book, [["city", "  "]]) == ["params"]
    _create(session, book, SEGMENT)
    with pytest.raises(Conflict) as taken:
        _create(session, book, [["city", "北京"]])
    assert [e.field for e in taken.value.errors] == ["name"]


def test_update_checks_the_version_and_refuses_without_changing_anything(
    session: Session, book: Book
):
    segment = _create(session, book, SEGMENT)
    with pytest.raises(PreconditionFailed):
        service.update(
            session=session,
            actor=book.analyst.user,
            segment=segment,
            segment_in=SegmentUpdate(name="新名字"),
            expected_version=segment.version + 1,
        )
    with pytest.raises(InvalidInput):
        service.update(
            session=session,
            actor=book.analyst.user,
            segment=segment,
            segment_in=SegmentUpdate(name="新名字", params=[("tier", "gold")]),
            expected_version=segment.version,
        )
    assert segment.name == "上海大客户"
    service.update(
        session=session,
        actor=book.analyst.user,
        segment=segment,
        segment_in=SegmentUpdate(name="新名字", params=[("city", "北京")]),
        expected_version=segment.version,
    )
    assert (segment.name, service.pairs_of(segment)) == ("新名字", [("city", "北京")])


def test_create_update_and_delete_are_audited(session: Session, book: Book):
    segment = _create(session, book, SEGMENT)
    service.update(
        session=session,
        actor=book.analyst.user,
        segment=segment,
        segment_in=SegmentUpdate(description="每月回访"),
        expected_version=None,
    )
    segment_id = segment.id
    service.delete(session=session, actor=book.analyst.user, segment=segment, expected_version=None)
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "segment", AuditEntry.entity_id == str(segment_id))
        .order_by(AuditEntry.id)
    ).all()
    assert list(actions) == ["create", "update", "delete"]


def test_members_are_only_the_customers_the_user_may_see(session: Session, book: Book):
    segment = _create(session, book, SEGMENT)
    assert _names(session, book, segment, "alice") == ["甲一"]
    assert _names(session, book, segment, "bob") == ["乙一", "乙二"]
    assert _names(session, book, segment, "admin") == ["乙一", "乙二", "甲一"]


def test_a_segment_is_dynamic_a_customer_moving_city_enters_and_leaves(
    session: Session, book: Book
):
    segment = _create(session, book, [["city", "上海"], ["tag", "VIP"]])
    assert _names(session, book, segment, "admin") == ["乙一", "甲一"]
    moved = session.get(Customer, book.ids["甲一"])
    assert moved is not None
    customer_service.update(
        session=session,
        actor=book.alice.user,
        customer=moved,
        customer_in=CustomerUpdate(city="杭州"),
        expected_version=None,
    )
    assert _names(session, book, segment, "admin") == ["乙一"]
    newcomer = customer(session, book.alice.user, "甲四", city="上海", tags=["VIP"])
    assert _names(session, book, segment, "alice") == ["甲四"]
    assert newcomer in [
        c.id
        for c in session.scalars(
            service.members(session=session, actor=book.admin.user, segment=segment)
        )
    ]


def test_preview_of_everyone(session: Session, book: Book):
    preview = service.preview(session=session, actor=book.admin.user, params=SEGMENT)
    assert preview.size == 3 and preview.scored == 3
    assert preview.run_id == book.runs[1].id
    assert preview.value is not None
    assert preview.value.clv == 12000.0
    assert preview.value.mean_clv == 4000.0
    assert preview.value.revenue == 5000.0  # 3000 + 1000 + 1000
    assert preview.value.profit == 1500.0  # 900 + 300 + 300
    assert {t.tier: t.customers for t in preview.tiers} == {
        "vip": 2,
        "key": 1,
        "ordinary": 0,
        "unprofitable": 0,
    }
    assert [(p.run_id, p.size, p.clv) for p in preview.trend] == [
        (book.runs[0].id, 2, 8000.0),
        (book.runs[1].id, 3, 12000.0),
    ]


def test_preview_of_a_sales_rep_counts_only_their_customers(session: Session, book: Book):
    preview = service.preview(session=session, actor=book.alice.user, params=SEGMENT)
    assert (preview.size, preview.scored) == (1, 1)
    assert preview.value is not None and preview.value.clv == 5000.0
    assert [(p.size, p.clv) for p in preview.trend] == [(1, 3000.0), (1, 5000.0)]
    bobs = service.preview(session=session, actor=book.bob.user, params=SEGMENT)
    assert bobs.size == 2 and bobs.value is not None and bobs.value.clv == 7000.0


def test_preview_without_score_conditions_counts_unscored_members(session: Session, book: Book):
    customer(session, book.alice.user, "甲五", city="上海")  # never scored
    preview = service.preview(session=session, actor=book.alice.user, params=[["city", "上海"]])
    assert (preview.size, preview.scored) == (3, 2)
    # the trend counts the members each run scored: 甲一 and 甲二 in both runs
    assert [p.size for p in preview.trend] == [2, 2]


def test_preview_before_any_run_has_only_the_size(session: Session, people: People):
    rep = people.user("sales")
    customer(session, rep.user, "丙一", city="上海")
    preview = service.preview(session=session, actor=rep.user, params=[["city", "上海"]])
    assert preview.size == 1
    assert (preview.run_id, preview.value, preview.tiers, preview.trend) == (None, None, [], [])


def test_sizes_mark_a_definition_that_no_longer_works(session: Session, book: Book):
    good = _create(session, book, SEGMENT)
    broken = _create(session, book, [["city", "北京"]], name="北京")
    broken.definition = {"params": [["tier", "gold"]]}  # a choice that went away
    session.flush()
    sizes = service.sizes(session=session, actor=book.admin.user, segments=[good, broken])
    assert sizes == {good.id: 3, broken.id: None}
