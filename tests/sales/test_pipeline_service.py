"""The pipeline's rules as the funnel relies on them: every stage change is one history row with
who, when and since when; the furthest stage reached; closing and reopening; lost needs a reason;
a stale move is refused; the board's totals are exact; lists filter and page."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from guanxi.errors import Conflict, InvalidInput, PreconditionFailed
from guanxi.sales.pipeline import listing
from guanxi.sales.pipeline import service as pipeline_service
from guanxi.sales.pipeline.schemas import OpportunityUpdate
from tests.conftest import People
from tests.sales.pipeline_support import changes, customer_of, opportunity_of, stage


def test_creation_is_the_first_history_row(session: Session, people: People):
    rep = people.user("sales").user
    opportunity = opportunity_of(session, rep)

    [first] = changes(session, opportunity.id)
    assert first.from_stage_id is None
    assert first.to_stage_id == stage(session, "lead").id
    assert first.changed_by_id == rep.id
    assert first.from_stage_entered_at is None
    assert first.changed_at == opportunity.stage_changed_at
    assert opportunity.probability == 10  # the lead stage's default
    assert opportunity.furthest_stage_position == stage(session, "lead").position
    assert opportunity.closed_at is None
    assert opportunity.owner_id == rep.id


def test_a_move_records_since_when_the_stage_was_held(session: Session, people: People):
    rep = people.user("sales").user
    opportunity = opportunity_of(session, rep)
    entered_lead = opportunity.stage_changed_at

    pipeline_service.move(
        session=session,
        actor=rep,
        opportunity=opportunity,
        stage_id=stage(session, "proposal").id,
        expected_version=opportunity.version,
    )

    _, second = changes(session, opportunity.id)
    assert second.from_stage_id == stage(session, "lead").id
    assert second.to_stage_id == stage(session, "proposal").id
    assert second.from_stage_entered_at == entered_lead
    assert second.changed_by_id == rep.id
    assert opportunity.stage_changed_at == second.changed_at >= entered_lead
    assert opportunity.probability == 50
    # moving to the stage it is in already changes nothing
    pipeline_service.move(
        session=session,
        actor=rep,
        opportunity=opportunity,
        stage_id=stage(session, "proposal").id,
        expected_version=None,
    )
    assert len(changes(session, opportunity.id)) == 2


def test_probability_typed_with_the_move_wins_over_the_stage_default(
    session: Session, people: People
):
    rep = people.user("sales").user
    opportunity = opportunity_of(session, rep, probability=33)
    assert opportunity.probability == 33
    pipeline_service.update(
        session=session,
        actor=rep,
        opportunity=opportunity,
        opportunity_in=OpportunityUpdate(stage_id=stage(session, "negotiation").id, probability=60),
        expected_version=opportunity.version,
    )
    assert opportunity.probability == 60
    assert changes(session, opportunity.id)[-1].to_stage_id == stage(session, "negotiation").id
    pipeline_service.update(
        session=session,
        actor=rep,
        opportunity=opportunity,
        opportunity_in=OpportunityUpdate(stage_id=stage(session, "qualified").id),
        expected_version=None,
    )
    assert opportunity.probability == 25


def _move(session: Session, actor, opportunity, key: str, reason: str | None = None):  # type: ignore[no-untyped-def]
    return pipeline_service.move(
        session=session,
        actor=actor,
        opportunity=opportunity,
        stage_id=stage(session, key).id,
        expected_version=opportunity.version,
        lost_reason=reason,
    )


def test_furthest_stage_closing_and_reopening(session: Session, people: People):
    rep = people.user("sales").user
    opportunity = opportunity_of(session, rep)
    _move(session, rep, opportunity, "proposal")
    _move(session, rep, opportunity, "qualified")  # going back keeps the furthest reached
    assert opportunity.furthest_stage_position == stage(session, "proposal").position

    _move(session, rep, opportunity, "lost", reason="预算被砍")
    assert opportunity.furthest_stage_position == stage(session, "proposal").position
    assert opportunity.closed_at is not None
    assert opportunity.lost_reason == "预算被砍"
    assert opportunity.probability == 0

    _move(session, rep, opportunity, "lead")  # reopened
    assert opportunity.closed_at is None
    assert opportunity.lost_reason == ""
    assert opportunity.furthest_stage_position == stage(session, "proposal").position

    _move(session, rep, opportunity, "won")  # a win went through every open stage
    assert opportunity.furthest_stage_position == stage(session, "negotiation").position
    assert opportunity.closed_at == opportunity.stage_changed_at
    assert opportunity.probability == 100
    assert [c.to_stage_id for c in changes(session, opportunity.id)] == [
        stage(session, k).id for k in ("lead", "proposal", "qualified", "lost", "lead", "won")
    ]


def test_lost_needs_a_reason(session: Session, people: People):
    rep = people.user("sales").user
    opportunity = opportunity_of(session, rep)
    for reason in (None, "   "):
        with pytest.raises(InvalidInput) as refused, session.begin_nested():
            _move(session, rep, opportunity, "lost", reason=reason)
        assert refused.value.errors[0].field == "lost_reason"
    assert len(changes(session, opportunity.id)) == 1
    assert opportunity.closed_at is None


def test_a_stale_move_is_a_conflict(session: Session, people: People):
    rep = people.user("sales").user
    opportunity = opportunity_of(session, rep)
    loaded = opportunity.version
    _move(session, rep, opportunity, "qualified")
    with pytest.raises(Conflict):
        pipeline_service.move(
            session=session,
            actor=rep,
            opportunity=opportunity,
            stage_id=stage(session, "proposal").id,
            expected_version=loaded,
        )
    with pytest.raises(PreconditionFailed):
        pipeline_service.update(
            session=session,
            actor=rep,
            opportunity=opportunity,
            opportunity_in=OpportunityUpdate(title="改名"),
            expected_version=loaded,
        )
    assert opportunity.stage_id == stage(session, "qualified").id


def test_board_totals_are_exact_and_cards_are_capped(session: Session, people: People):
    rep = people.user("sales").user
    customer = customer_of(session, rep)
    for amount in ("0.10", "0.20", "1000000.33"):
        opportunity_of(session, rep, amount=amount, customer_id=customer)
    opportunity_of(session, rep, amount="99.99", stage_key="proposal", customer_id=customer)

    board = listing.board(
        session=session, actor=rep, spec=listing.OpportunityFilter(), per_column=2
    )
    lead = next(c for c in board.columns if c.key == "lead")
    assert (lead.count, lead.amount, len(lead.cards), lead.more) == (3, Decimal("1000000.63"), 2, 1)
    assert lead.weighted == Decimal("100000.06")  # 10 % of 1,000,000.63, to the cent
    proposal = next(c for c in board.columns if c.key == "proposal")
    assert (proposal.count, proposal.amount, proposal.weighted) == (
        1,
        Decimal("99.99"),
        Decimal("50.00"),
    )
    assert [c.key for c in board.columns] == [
        "lead",
        "qualified",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
    assert board.amount == Decimal("1000100.62")


def test_list_filters_and_pages_by_close_date(session: Session, people: People):
    rep = people.user("sales").user
    customer = customer_of(session, rep)
    today = date(2026, 12, 1)
    made = [
        opportunity_of(
            session,
            rep,
            title=f"机会 {i}",
            amount=str(100 * (i + 1)),
            customer_id=customer,
            expected_close_date=today + timedelta(days=i % 3) if i % 4 else None,
        )
        for i in range(9)
    ]
    seen: list[int] = []
    cursor = None
    while True:
        page = listing.list_opportunities(
            session=session,
            actor=rep,
            spec=listing.OpportunityFilter(),
            sort="expected_close_date",
            descending=False,
            limit=2,
            cursor=cursor,
        )
        seen += [o.id for o in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(o.id for o in made) and len(seen) == len(set(seen))
    dates = [session.get(type(made[0]), i).expected_close_date for i in seen]  # type: ignore[union-attr]
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated)
    assert dates[len(dated) :] == [None] * (len(dates) - len(dated))  # undated ones last

    rich = listing.list_opportunities(
        session=session,
        actor=rep,
        spec=listing.filter_from_query({"amount_min": "500", "amount_max": "700", "q": "机会"}),
    )
    assert sorted(o.amount for o in rich.items) == [Decimal(500), Decimal(600), Decimal(700)]
    _move(session, rep, made[0], "lost", reason="价格")
    lost = listing.list_opportunities(
        session=session, actor=rep, spec=listing.filter_from_query({"status": "lost"})
    )
    assert [o.id for o in lost.items] == [made[0].id]
    with pytest.raises(InvalidInput) as refused:
        listing.filter_from_query({"close_from": "yesterday", "status": "maybe"})
    assert {e.field for e in refused.value.errors} == {"close_from", "status"}
