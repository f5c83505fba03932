"""The SLA report: shares of first-response and resolution targets met by team, queue,
priority, kind and tier over the tickets resolved in a period, counted only over the tickets
the reader may see; over JSON and on its page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.service_desk.models import ServiceQueue, Ticket
from tests.conftest import People
from tests.service_desk.survey_support import customer

SEPT = datetime(2026, 9, 10, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def desk(session: Session, people: People) -> dict[str, Any]:
    east, west = people.team("华东"), people.team("华西")
    manager = people.user("manager", team=east)
    rep_east, rep_west = people.user("sales", team=east), people.user("sales", team=west)
    admin = people.user("admin")
    q1 = ServiceQueue(name="华东售后", team_id=east.id)
    q2 = ServiceQueue(name="华西售后", team_id=west.id)
    session.add_all([q1, q2])
    session.flush()
    east_customer = customer(session, rep_east.user, "杭州青山茶业", value_tier="vip")
    west_customer = customer(session, rep_west.user, "成都锦江商贸")

    def ticket(
        customer_id: int,
        queue: ServiceQueue | None,
        *,
        response_late: bool,
        resolution_late: bool,
        resolved: datetime | None = SEPT,
        **fields: Any,
    ) -> None:
        session.add(
            Ticket(
                kind=fields.pop("kind", "complaint"),
                subject="热水器不出热水",
                priority=fields.pop("priority", "high"),
                customer_id=customer_id,
                queue_id=queue.id if queue else None,
                first_response_due=SEPT - 5 * HOUR,
                first_responded_at=SEPT - (4 if response_late else 6) * HOUR,
                resolution_due=SEPT + (-HOUR if resolution_late else HOUR),
                resolved_at=resolved,
                status="resolved" if resolved else "in_progress",
                **fields,
            )
        )

    ticket(east_customer, q1, response_late=False, resolution_late=False, tier="vip")
    ticket(
        east_customer, q1, response_late=True, resolution_late=False, priority="urgent", tier="vip"
    )
    ticket(
        west_customer,
        q2,
        response_late=True,
        resolution_late=True,
        priority="normal",
        kind="inquiry",
    )
    # resolved in October and still open: not in September's report
    ticket(
        west_customer,
        None,
        response_late=False,
        resolution_late=True,
        resolved=SEPT + timedelta(days=30),
    )
    ticket(west_customer, q2, response_late=False, resolution_late=False, resolved=None)
    session.flush()
    return {
        "admin": people.token(admin),
        "manager": people.token(manager),
        "sales": people.token(rep_east),
    }


def _rows(body: dict[str, Any], dimension: str) -> dict[str, tuple[int, Any, Any]]:
    return {
        row["label"] or row["key"]: (
            row["tickets"],
            row["first_response"]["percent"],
            row["resolution"]["percent"],
        )
        for row in body["by"][dimension]
    }


def test_shares_met_by_every_dimension(client: TestClient, desk: dict[str, Any]) -> None:
    reply = client.get("/api/v1/sla-report?period=2026-09", headers=desk["admin"])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["tickets"] == 3
    assert body["first_response"] == {"met": 1, "total": 3, "percent": 33.3}
    assert body["resolution"] == {"met": 2, "total": 3, "percent": 66.7}
    assert _rows(body, "queue") == {"华东售后": (2, 50.0, 100.0), "华西售后": (1, 0.0, 0.0)}
    assert _rows(body, "team") == {"华东": (2, 50.0, 100.0), "华西": (1, 0.0, 0.0)}
    assert _rows(body, "priority") == {
        "high": (1, 100.0, 100.0),
        "urgent": (1, 0.0, 100.0),
        "normal": (1, 0.0, 0.0),
    }
    assert _rows(body, "kind") == {"complaint": (2, 50.0, 100.0), "inquiry": (1, 0.0, 0.0)}
    assert _rows(body, "tier") == {"vip": (2, 50.0, 100.0), "": (1, 0.0, 0.0)}

    everything = client.get("/api/v1/sla-report", headers=desk["admin"]).json()
    assert everything["tickets"] == 4 and everything["resolution"]["met"] == 2


def test_a_manager_counts_only_the_tickets_they_may_see(
    client: TestClient, desk: dict[str, Any]
) -> None:
    body = client.get("/api/v1/sla-report?period=2026-09", headers=desk["manager"]).json()
    assert body["tickets"] == 2
    assert _rows(body, "queue") == {"华东售后": (2, 50.0, 100.0)}


def test_who_may_read_the_report_and_bad_periods(client: TestClient, desk: dict[str, Any]) -> None:
    assert client.get("/api/v1/sla-report", headers=desk["sales"]).status_code == 403
    assert client.get("/api/v1/sla-report").status_code == 401
    bad = client.get("/api/v1/sla-report?period=last-autumn", headers=desk["admin"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
