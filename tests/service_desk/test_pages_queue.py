"""The queue page's keyset pages: soonest due first, tickets whose clock is paused (no due time)
last, and every ticket exactly once across the pages, through the page's own next links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.db import utcnow
from guanxi.service_desk import pages, worklists
from guanxi.service_desk.worklists import QueueFilter
from tests.conftest import People
from tests.service_desk.support import agent, customer, queue, ticket, walk_pages
from tests.web.forms import sign_in


def test_pages_walk_every_ticket_once_in_due_order(
    client: TestClient, people: People, session: Session, monkeypatch: pytest.MonkeyPatch
):
    manager = people.user("manager")
    buyer = customer(session, manager.user, "吴刚").id
    me = agent(people, queue(session, "维修"))
    now = utcnow()
    made = [ticket(session, manager.user, buyer, assignee_id=me.user.id) for _ in range(7)]
    # two share a due time (the id breaks the tie); two wait on the customer with no due time
    dues = [now + timedelta(hours=h) for h in (5, 1, 3, 3, 2)] + [None, None]
    for each, due in zip(made, dues, strict=True):
        each.resolution_due = due
    session.flush()
    expected = [made[i].id for i in (1, 4, 2, 3, 0)] + sorted([made[5].id, made[6].id])

    walked: list[int] = []
    cursor = None
    for _ in range(10):
        page = worklists.list_queue(
            session=session, actor=me.user, spec=QueueFilter(), limit=2, cursor=cursor
        )
        walked += [t.id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert walked == expected

    newest: list[int] = []
    cursor = None
    for _ in range(10):
        page = worklists.list_queue(
            session=session,
            actor=me.user,
            spec=QueueFilter(sort="newest"),
            limit=3,
            cursor=cursor,
        )
        newest += [t.id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert newest == sorted(expected, reverse=True)

    # the page's next link carries the filters and the cursor (pages of three here)
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    sign_in(client, me.username, me.password)
    seen = walk_pages(client, "/service?view=mine&sort=due", keep="view=mine")
    assert seen == expected
