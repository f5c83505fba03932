"""The funnel figures on a history where every number is known (tests/sales/funnel_support.py),
on SQLite and PostgreSQL: reached counts, conversions, drop-offs, days in stage, win rates,
the weighted forecast to the last hundredth of a cent, the period's edges and visibility."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from guanxi.errors import InvalidInput
from guanxi.sales.funnel import service
from tests.conftest import People
from tests.sales.funnel_support import END, START, Pipeline, build_pipeline


@pytest.fixture
def pipeline(session: Session, people: People) -> Pipeline:
    return build_pipeline(session, people)


def _admin(people: People):  # type: ignore[no-untyped-def]
    return people.user("admin").user


def test_funnel_counts_reach_conversion_and_drop_off(session: Session, people: People, pipeline):  # type: ignore[no-untyped-def]
    report = service.funnel(
        session=session, actor=_admin(people), period_start=START, period_end=END
    )
    assert report.created == 9  # 1-9; #10 a second before, #11 the instant after the period
    assert report.created_amount == Decimal("19750.75")
    by_key = {s.key: s for s in report.stages}
    assert [s.key for s in report.stages] == ["lead", "qualified", "proposal", "negotiation"]
    assert [(s.reached, s.converted, s.dropped) for s in report.stages] == [
        (9, 6, 3),  # #8 was created at qualified: it still passed lead
        (6, 5, 1),
        (5, 3, 2),
        (3, 3, 0),  # the last open stage converts to won
    ]
    assert [s.reached_amount for s in report.stages] == [
        Decimal("19750.75"),
        Decimal("15250.75"),
        Decimal("13250.75"),
        Decimal("2750.25"),
    ]
    assert by_key["lead"].conversion == pytest.approx(6 / 9)
    assert by_key["lead"].drop_off == pytest.approx(3 / 9)
    assert by_key["qualified"].conversion == pytest.approx(5 / 6)
    assert by_key["proposal"].drop_off == pytest.approx(2 / 5)
    assert by_key["negotiation"].conversion == 1.0
    assert by_key["negotiation"].next_label == "Won"
    assert by_key["qualified"].share_of_created == pytest.approx(6 / 9)
    assert (report.won, report.won_amount) == (3, Decimal("2750.25"))
    assert (report.lost, report.lost_amount) == (3, Decimal("15000.00"))
    assert (report.open, report.open_amount) == (3, Decimal("2000.50"))
    assert report.win_rate_closed == 0.5
    assert report.win_rate_created == pytest.approx(3 / 9)


def test_average_days_in_stage_only_over_the_cohorts_moves(session, people, pipeline):  # type: ignore[no-untyped-def]
    report = service.funnel(
        session=session, actor=_admin(people), period_start=START, period_end=END
    )
    days = {s.key: (s.exits, s.average_days) for s in report.stages}
    # lead: 2, 4, 2, 0.5, 4, 1 (#10's four days in lead are outside the cohort)
    assert days["lead"] == (6, 2.25)
    assert days["qualified"] == (6, pytest.approx(11 / 6, abs=0.005))  # 3, 2, 1, 2, 1, 2
    assert days["proposal"] == (3, pytest.approx(8 / 3, abs=0.005))  # 4, 2, 2
    assert days["negotiation"] == (2, 5.5)  # 1, 10


def test_period_edges_are_whole_days(session, people, pipeline):  # type: ignore[no-untyped-def]
    admin = _admin(people)
    first_day = service.funnel(session=session, actor=admin, period_start=START, period_end=START)
    assert first_day.created == 2  # #1 and #2 at 00:00 on the first day
    last_day = service.funnel(session=session, actor=admin, period_start=END, period_end=END)
    assert last_day.created == 1  # #9 at 23:59:59 on the last day
    day_before = date(2025, 12, 31)
    assert (
        service.funnel(
            session=session, actor=admin, period_start=day_before, period_end=day_before
        ).created
        == 1
    )  # #10


def test_filters_narrow_every_figure(session, people, pipeline):  # type: ignore[no-untyped-def]
    admin = _admin(people)
    web = service.funnel(
        session=session, actor=admin, period_start=START, period_end=END, source="web"
    )
    assert (web.created, web.won, web.lost) == (5, 2, 2)  # 1, 2, 5, 7, 9
    p2 = service.funnel(
        session=session,
        actor=admin,
        period_start=START,
        period_end=END,
        product_id=pipeline.p2.id,
    )
    assert [s.reached for s in p2.stages] == [3, 2, 2, 1]  # 3, 4, 8
    owner = service.funnel(
        session=session,
        actor=admin,
        period_start=START,
        period_end=END,
        owner_id=pipeline.c.user.id,
    )
    assert owner.created == 2
    team = service.funnel(
        session=session,
        actor=admin,
        period_start=START,
        period_end=END,
        team_id=pipeline.c.user.team_id,
    )
    assert team.created == 2


def test_visibility_limits_the_counts(session, people, pipeline):  # type: ignore[no-untyped-def]
    rep = service.funnel(session=session, actor=pipeline.a.user, period_start=START, period_end=END)
    assert rep.created == 4  # A's own: 1, 2, 3, 9
    assert [s.reached for s in rep.stages] == [4, 3, 2, 1]
    manager = service.funnel(
        session=session, actor=pipeline.east_manager.user, period_start=START, period_end=END
    )
    assert manager.created == 7  # East: A's and B's, never West's #7 and #8
    assert manager.won_amount == Decimal("2500.25")
    # asking for another team's owner by filter still shows nothing of theirs
    hidden = service.funnel(
        session=session,
        actor=pipeline.a.user,
        period_start=START,
        period_end=END,
        owner_id=pipeline.c.user.id,
    )
    assert hidden.created == 0 and hidden.stages[0].conversion is None
    rates = service.win_rates(
        session=session, actor=pipeline.a.user, by="owner", period_start=START, period_end=END
    )
    assert [r.key for r in rates.rows] == [str(pipeline.a.user.id)]


def test_win_rates_by_owner_source_and_product(session, people, pipeline):  # type: ignore[no-untyped-def]
    admin = _admin(people)

    def table(by: str) -> dict[str, tuple[int, int, int, float | None, Decimal]]:
        rates = service.win_rates(
            session=session, actor=admin, by=by, period_start=START, period_end=END
        )  # type: ignore[arg-type]
        return {r.label: (r.won, r.lost, r.open, r.win_rate, r.won_amount) for r in rates.rows}

    a, b, c = (pipeline.a.user.label, pipeline.b.user.label, pipeline.c.user.label)
    # #10 was created before the period but closed in it: it counts for the win rate
    assert table("owner") == {
        a: (2, 1, 2, pytest.approx(2 / 3), Decimal("1999.00")),
        b: (1, 1, 1, 0.5, Decimal("1500.25")),
        c: (1, 1, 0, 0.5, Decimal("250.00")),
    }
    assert table("source") == {
        "Web": (3, 2, 1, 0.6, Decimal("3499.25")),
        "Referral": (1, 1, 1, 0.5, Decimal("250.00")),
        "Phone": (0, 0, 1, None, Decimal("0.00")),
    }
    assert table("product") == {
        "云存储套餐": (2, 2, 2, 0.5, Decimal("1999.00")),
        "Support plan": (1, 1, 1, 0.5, Decimal("250.00")),
        "(none)": (1, 0, 0, 1.0, Decimal("1500.25")),
    }
    total = service.win_rates(
        session=session, actor=admin, by="owner", period_start=START, period_end=END
    ).total
    assert (total.won, total.lost, total.open, total.win_rate) == (4, 3, 3, pytest.approx(4 / 7))
    assert total.won_amount == Decimal("3749.25")


def test_forecast_weights_each_opportunity_exactly(session, people, pipeline):  # type: ignore[no-untyped-def]
    result = service.forecast(
        session=session, actor=_admin(people), months=3, today=date(2026, 1, 15)
    )
    assert [
        (m.month, m.count, m.amount, m.weighted_amount, m.won_amount) for m in result.months
    ] == [
        # #3: 500.50 at 33% (#2's January date does not count: it is lost); won #1 #5 #8 #10
        (date(2026, 1, 1), 1, Decimal("500.50"), Decimal("165.1650"), Decimal("3749.25")),
        (date(2026, 2, 1), 1, Decimal("700.00"), Decimal("105.0000"), Decimal("0.00")),
        # #11: 1234.56 at 37%; #6 expected on 1 April falls outside three months
        (date(2026, 3, 1), 1, Decimal("1234.56"), Decimal("456.7872"), Decimal("0.00")),
    ]
    assert (result.count, result.amount, result.weighted_amount) == (
        3,
        Decimal("2435.06"),
        Decimal("726.9522"),
    )
    mine = service.forecast(
        session=session, actor=pipeline.a.user, months=3, today=date(2026, 1, 20)
    )
    assert [m.count for m in mine.months] == [1, 1, 0]  # A's #3 and #9 only
    assert mine.months[0].won_amount == Decimal("1999.00")  # A's #1 and #10


def test_invalid_periods_are_refused(session, people):  # type: ignore[no-untyped-def]
    admin = _admin(people)
    with pytest.raises(InvalidInput) as backwards:
        service.funnel(session=session, actor=admin, period_start=END, period_end=START)
    assert backwards.value.errors[0].field == "end"
    with pytest.raises(InvalidInput):
        service.win_rates(
            session=session,
            actor=admin,
            by="owner",
            period_start=date(2020, 1, 1),
            period_end=date(2025, 1, 1),
        )
    # five years less a day is the longest period
    service.funnel(
        session=session,
        actor=admin,
        period_start=date(2020, 1, 1),
        period_end=date(2024, 12, 31),
    )
    with pytest.raises(InvalidInput):
        service.forecast(session=session, actor=admin, months=0)
