"""Contract statistics on a known data set: value and count by status, what ends within
30/60/90 days, the renewal rate by its definition, and only what the reader may see."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.sales.contracts import lifecycle, service, stats
from guanxi.sales.contracts.schemas import ContractCreate, ContractRenew, ContractTerminate
from guanxi.sales.models import Contract
from tests.conftest import People, Person
from tests.sales.contracts_support import customer

T = date(2026, 6, 15)


def _make(
    session: Session,
    settings: Settings,
    owner: User,
    buyer: int,
    amount: str,
    ends_in: int,
    *,
    starts_in: int = -300,
) -> Contract:
    return service.create(
        session=session,
        actor=owner,
        settings=settings,
        contract_in=ContractCreate(
            title=f"合同 {amount}",
            customer_id=buyer,
            amount=Decimal(amount),
            start_date=T + timedelta(days=starts_in),
            end_date=T + timedelta(days=ends_in),
            signed_on=T + timedelta(days=starts_in),
        ),
        today=T,
    )


def _data_set(session: Session, settings: Settings, people: People) -> tuple[User, User]:
    rep = people.user("sales", team=people.team("East")).user
    other = people.user("sales", team=people.team("West")).user
    buyer = customer(session, rep)
    for amount, ends_in in (("100.00", 100), ("200.00", 20), ("300.00", 50), ("400.00", 80)):
        _make(session, settings, rep, buyer, amount, ends_in)
    _make(session, settings, rep, buyer, "50.00", -10)  # expired
    old = _make(session, settings, rep, buyer, "70.00", -5, starts_in=-370)
    lifecycle.renew(  # old -> renewed; the new one is a draft of 70.00
        session=session,
        actor=rep,
        settings=settings,
        contract=old,
        contract_in=ContractRenew(),
        today=T,
    )
    at_end = _make(session, settings, rep, buyer, "25.00", -30)
    early = _make(session, settings, rep, buyer, "10.00", 200)
    for contract, day in ((at_end, T - timedelta(days=30)), (early, T - timedelta(days=1))):
        lifecycle.terminate(
            session=session,
            actor=rep,
            settings=settings,
            contract=contract,
            terminate_in=ContractTerminate(reason="不再合作", terminated_on=day),
            today=T,
        )
    gone = _make(session, settings, rep, buyer, "5000.00", 15)
    service.delete(session=session, actor=rep, contract=gone, expected_version=None)
    _make(session, settings, other, customer(session, other, "西部客户"), "9999.00", 10)
    session.flush()
    return rep, other


def test_figures_on_a_known_data_set(session: Session, settings: Settings, people: People):
    rep, other = _data_set(session, settings, people)
    figures = stats.contract_stats(session=session, actor=rep, settings=settings, today=T)

    by_status = {f.status: (f.count, f.value) for f in figures.by_status}
    assert by_status == {
        "draft": (1, Decimal("70.00")),
        "active": (3, Decimal("800.00")),
        "expiring": (1, Decimal("200.00")),
        "expired": (1, Decimal("50.00")),
        "terminated": (2, Decimal("35.00")),
        "renewed": (1, Decimal("70.00")),
    }
    assert (figures.total_count, figures.total_value) == (9, Decimal("1225.00"))
    assert [(f.within_days, f.count, f.value) for f in figures.expiring] == [
        (30, 1, Decimal("200.00")),
        (60, 2, Decimal("500.00")),
        (90, 3, Decimal("900.00")),
    ]
    renewal = figures.renewal
    assert (renewal.renewed, renewal.expired, renewal.terminated_at_end) == (1, 1, 1)
    assert renewal.rate == Decimal("0.3333")
    assert (renewal.period_from, renewal.period_to) == (T - timedelta(days=365), T)

    # a period in which none of them ended has no rate at all
    empty = stats.contract_stats(
        session=session,
        actor=rep,
        settings=settings,
        period_from=date(2020, 1, 1),
        period_to=date(2020, 12, 31),
        today=T,
    )
    assert empty.renewal.rate is None

    # the other team's rep sees only their own contract
    theirs = stats.contract_stats(session=session, actor=other, settings=settings, today=T)
    assert (theirs.total_count, theirs.total_value) == (1, Decimal("9999.00"))


def test_stats_api_counts_only_visible_contracts_and_needs_the_right(
    client: TestClient, session: Session, settings: Settings, people: People
):
    rep, other = _data_set(session, settings, people)
    session.flush()
    mine = client.get("/api/v1/contracts/stats", headers=people.token(Person(rep, "")))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["total_count"] == 9 and body["total_value"] == "1225.00"
    theirs = client.get("/api/v1/contracts/stats", headers=people.token(Person(other, "")))
    assert theirs.json()["total_count"] == 1
    marketer = people.user("marketing")
    assert client.get("/api/v1/contracts/stats", headers=people.token(marketer)).status_code == 403
    bad = client.get(
        "/api/v1/contracts/stats?from=yesterday", headers=people.token(Person(rep, ""))
    )
    assert bad.status_code == 422
