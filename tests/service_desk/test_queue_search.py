"""Finding tickets by a fragment of their subject through the term index, and the queue page's
merged index walks: the same tickets in the same order as one sort of everything would give."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.db import utcnow
from guanxi.service_desk import pages, service, worklists
from guanxi.service_desk.models import STATUSES, Ticket
from guanxi.service_desk.subject_terms import query_terms, terms
from guanxi.service_desk.worklists import QueueFilter
from tests.conftest import People
from tests.service_desk.support import agent, customer, queue, ticket, walk_pages
from tests.web.forms import sign_in


def test_a_subject_is_indexed_as_characters_pairs_prefixes_and_runs_of_three():
    chinese = ["空", "调", "漏", "水", "空调", "调漏", "漏水"]
    assert terms("空调漏水 KFR-35GW") == sorted(
        [*chinese, "k", "kf", "kfr", "3", "35", "35g", "5gw"]
    )
    # full-width letters and capitals fold to what people type
    assert terms("ＥＲＲ") == ["e", "er", "err"]
    assert terms("") == [] and terms("！？") == []
    # two characters are one term and need no check; longer ones are pairs that may lie apart
    assert query_terms("漏水") == (["漏水"], True)
    assert query_terms("压缩机坏") == (["压缩", "机坏", "缩机"], False)
    assert query_terms("e4") == (["e4"], True)
    assert query_terms("gw") == (["gw"], True)
    assert query_terms("35gw") == (["35g", "5gw"], False)
    assert query_terms("kfr-35") == (["35", "kfr"], False)
    assert query_terms("!!")[0] == []


def _found(session: Session, actor: Any, q: str) -> set[int]:
    page = worklists.list_queue(
        session=session, actor=actor, spec=QueueFilter(view="all", status="any", q=q), limit=50
    )
    return {t.id for t in page.items}


def test_search_finds_fragments_through_the_index(session: Session, people: People):
    manager = people.user("manager").user
    buyer = customer(session, manager, "周杰").id
    leak = ticket(session, manager, buyer, subject="洗衣机漏水 E4")
    model = ticket(session, manager, buyer, subject="空调 KFR-35GW 压缩机烧毁")
    apart = ticket(session, manager, buyer, subject="压缩机正常，烧毁的是风扇")
    other = ticket(session, manager, buyer, subject="预约安装")

    assert _found(session, manager, "漏水") == {leak.id}
    assert _found(session, manager, "漏") == {leak.id}
    # every pair is in both subjects, but only one holds the fragment itself
    assert _found(session, manager, "压缩机烧毁") == {model.id}
    assert _found(session, manager, "烧毁") == {model.id, apart.id}
    assert _found(session, manager, "35gw") == {model.id}
    assert _found(session, manager, "kfr-35") == {model.id}
    assert _found(session, manager, "e4") == {leak.id}
    assert _found(session, manager, "ＫＦＲ") == {model.id}
    # a fragment inside a word needs three characters; nothing indexable finds nothing
    assert _found(session, manager, "gw") == set()
    assert _found(session, manager, "%") == set()
    assert _found(session, manager, "不存在") == set()
    # "#" and a number names a ticket; bare digits also find subjects that hold them
    assert _found(session, manager, f"#{other.id}") == {other.id}
    assert _found(session, manager, str(other.id)) == {other.id}
    numbered = ticket(session, manager, buyer, subject="电视 75英寸 黑屏")
    assert _found(session, manager, "75") == {numbered.id} | (
        {75} & {leak.id, model.id, apart.id, other.id}
    )
    assert _found(session, manager, f"#{numbered.id + 1000}") == set()

    # a changed subject is found by its new words only
    leak.subject = "洗衣机不排水"
    session.flush()
    assert _found(session, manager, "漏水") == set()
    assert _found(session, manager, "排水") == {leak.id}

    # pages of a search, newest first, each ticket once (SQLite reads them from the term index
    # in its own order)
    leaks = [ticket(session, manager, buyer, subject=f"热水器漏水 {n}号").id for n in range(7)]
    for limit in (1, 2, 3):
        spec = QueueFilter(view="all", status="any", q="热水器漏水", sort="newest")
        assert _walk(session, manager, spec, limit) == sorted(leaks, reverse=True)

    # the API's q reads the same index
    listed = service.list_tickets(session=session, actor=manager, q="压缩机烧毁")
    assert [t.id for t in listed.items] == [model.id]


def test_search_stays_inside_what_the_agent_may_see(
    client: TestClient, people: People, session: Session
):
    manager = people.user("manager").user
    buyer = customer(session, manager, "钱多").id
    mine, theirs = queue(session, "甲"), queue(session, "乙")
    me = agent(people, mine)
    seen = ticket(session, manager, buyer, subject="冰箱漏水", queue_id=mine.id)
    hidden = ticket(session, manager, buyer, subject="冰箱漏水", queue_id=theirs.id)
    sign_in(client, me.username, me.password)
    for view in ("queues", "all"):
        html = client.get(f"/service?view={view}&status=any&q=漏水").text
        rows = [int(i) for i in re.findall(r'data-ticket="(\d+)"', html)]
        assert rows == [seen.id], view
    assert hidden.id not in [
        t["id"] for t in client.get("/api/v1/tickets", params={"q": "漏水"}).json()["items"]
    ]
    # a search lists newest first unless an order is chosen
    assert worklists.filter_from_query({"q": "漏水"}).sort == "newest"
    assert worklists.filter_from_query({"q": "漏水", "sort": "due"}).sort == "due"
    assert worklists.filter_from_query({}).sort == "due"


def _walk(session: Session, actor: Any, spec: QueueFilter, limit: int) -> list[int]:
    walked: list[int] = []
    cursor = None
    for _ in range(100):
        page = worklists.list_queue(
            session=session, actor=actor, spec=spec, limit=limit, cursor=cursor
        )
        walked += [t.id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return walked
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("limit", [1, 4, 50])
def test_the_merged_walks_list_what_one_sort_would(
    session: Session, people: People, limit: int, client: TestClient, monkeypatch: Any
):
    manager = people.user("manager").user
    buyer = customer(session, manager, "孙丽").id
    first, second, elsewhere = queue(session, "一"), queue(session, "二"), queue(session, "三")
    me = agent(people, first, second)
    rng = random.Random(limit)
    now = utcnow()
    made: list[Ticket] = []
    for n in range(36):
        home = (first, second, elsewhere)[n % 3]
        made.append(
            ticket(
                session,
                manager,
                buyer,
                queue_id=home.id,
                priority=rng.choice(["normal", "urgent"]),
                assignee_id=me.user.id if n % 4 == 0 else None,
            )
        )
    for n, each in enumerate(made):
        each.status = STATUSES[n % len(STATUSES)]
        # a few share a due time (the id breaks the tie); some have none (a paused clock)
        each.resolution_due = (
            None if n % 5 == 0 else now + timedelta(hours=rng.choice([-3, 1, 1, 2, 7, 30]))
        )
        each.first_response_due = now + timedelta(hours=rng.choice([-1, 3, 10]))
        each.first_responded_at = now if n % 7 == 0 else None
    session.flush()

    def expected(keep: Any, newest: bool = False) -> list[int]:
        chosen = [t for t in made if keep(t)]
        if newest:
            return sorted((t.id for t in chosen), reverse=True)
        dated = sorted(
            (t for t in chosen if t.resolution_due), key=lambda t: (t.resolution_due, t.id)
        )
        return [t.id for t in dated] + sorted(t.id for t in chosen if not t.resolution_due)

    mine_queues = {first.id, second.id}

    def within(moment: Any) -> bool:
        return moment is not None and now <= moment <= now + worklists.SOON

    def past(moment: Any) -> bool:
        return moment is not None and moment < now

    is_open = {"new", "assigned", "in_progress", "waiting"}
    cases = [
        (QueueFilter(view="queues"), lambda t: t.queue_id in mine_queues and t.status in is_open),
        (QueueFilter(view="queues", status="any"), lambda t: t.queue_id in mine_queues),
        (
            QueueFilter(view="queues", status="any", priority="urgent"),
            lambda t: t.queue_id in mine_queues and t.priority == "urgent",
        ),
        (QueueFilter(view="mine", status="any"), lambda t: t.assignee_id == me.user.id),
        (
            QueueFilter(view="queues", queue_id=second.id, status="resolved"),
            lambda t: t.queue_id == second.id and t.status == "resolved",
        ),
        (
            QueueFilter(view="unassigned", status="any"),
            lambda t: t.assignee_id is None and t.queue_id in mine_queues,
        ),
        (
            QueueFilter(view="queues", status="any", due="soon"),
            lambda t: (
                t.queue_id in mine_queues
                and (
                    within(t.resolution_due)
                    or (t.first_responded_at is None and within(t.first_response_due))
                )
            ),
        ),
        (
            QueueFilter(view="queues", status="any", due="breached"),
            lambda t: (
                t.queue_id in mine_queues
                and (
                    past(t.resolution_due)
                    or (t.first_responded_at is None and past(t.first_response_due))
                )
            ),
        ),
    ]
    for spec, keep in cases:
        assert _walk(session, me.user, spec, limit) == expected(keep), spec
        newest = QueueFilter(**{**spec.__dict__, "sort": "newest"})
        assert _walk(session, me.user, newest, limit) == expected(keep, newest=True), spec
    # an administrator's everything is walked by status alone
    admin = people.user("admin").user
    assert _walk(session, admin, QueueFilter(view="all", status="any"), limit) == expected(
        lambda t: True
    )

    if limit == 4:  # the page's own next links carry the merge's cursor
        monkeypatch.setattr(pages, "PAGE_SIZE", limit)
        sign_in(client, me.username, me.password)
        seen = walk_pages(client, "/service?view=queues&status=any", keep="status=any")
        assert seen == expected(lambda t: t.queue_id in mine_queues)
