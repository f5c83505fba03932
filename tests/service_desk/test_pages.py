"""The service desk's staff pages as people drive them: the queue's views and filters in the
URL, a ticket's actions through its forms (status moves and reopening, assignment and other
changes, notes, replies by e-mail, attachments, merging) with errors shown inline, and who may
open what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.db import Database, utcnow
from guanxi.service_desk import service
from guanxi.service_desk.models import Ticket, TicketChange, TicketMessage
from guanxi.service_desk.schemas import TicketUpdate
from tests.conftest import TEST_SECRET, People
from tests.mail_server import Inbox, smtp_server
from tests.service_desk.support import agent, customer, queue, ticket
from tests.web.forms import csrf_from, sign_in, submit


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database: Database, inbox: Inbox) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database.url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
        smtp_host=inbox.host,
        smtp_port=inbox.port,
        mail_from="service@guanxi.test",
    )


def _rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-ticket="(\d+)"', html)]


def test_the_queue_page_lists_by_view_and_filters_in_the_url(
    client: TestClient, people: People, session: Session
):
    manager = people.user("manager")
    buyer = customer(session, manager.user, "王建国").id
    repairs = queue(session, "维修")
    other = queue(session, "咨询")
    me = agent(people, repairs)
    colleague = agent(people, repairs)
    mine = ticket(session, manager.user, buyer, subject="空调不制冷", assignee_id=me.user.id)
    in_queue = ticket(
        session,
        manager.user,
        buyer,
        subject="洗衣机漏水",
        queue_id=repairs.id,
        assignee_id=colleague.user.id,
        priority="urgent",
        kind="service_request",
    )
    loose = ticket(session, manager.user, buyer, subject="发票抬头", queue_id=repairs.id)
    # routing gave it to an agent of the queue; taken off them, it waits unassigned
    service.update_ticket(
        session, actor=manager.user, ticket=loose, ticket_in=TicketUpdate(assignee_id=None)
    )
    elsewhere = ticket(session, manager.user, buyer, subject="别的队列", queue_id=other.id)
    late = ticket(session, manager.user, buyer, subject="冰箱噪音", assignee_id=me.user.id)
    late.resolution_due = utcnow() - timedelta(hours=1)  # a target already missed
    session.flush()
    sign_in(client, me.username, me.password)

    home = client.get("/service")
    assert home.status_code == 200
    # my tickets, the one already late first (soonest due)
    assert _rows(home.text) == [late.id, mine.id]
    assert "overdue" in home.text
    # an agent reaches their availability; the reports are for those who read reports
    assert 'href="/service/availability"' in home.text
    assert 'href="/service/sla"' not in home.text
    assert 'href="/service/satisfaction"' not in home.text
    queues_view = _rows(client.get("/service?view=queues").text)
    assert set(queues_view) == {in_queue.id, loose.id, mine.id, late.id} & set(queues_view)
    assert elsewhere.id not in queues_view and in_queue.id in queues_view
    assert loose.id in _rows(client.get("/service?view=unassigned").text)
    assert in_queue.id not in _rows(client.get("/service?view=unassigned").text)
    assert _rows(client.get("/service?view=queues&priority=urgent").text) == [in_queue.id]
    assert _rows(client.get("/service?view=queues&kind=service_request").text) == [in_queue.id]
    assert _rows(client.get("/service?due=breached").text) == [late.id]
    assert _rows(client.get("/service?view=queues&q=漏水").text) == [in_queue.id]
    assert _rows(client.get(f"/service?view=queues&q=%23{loose.id}").text) == [loose.id]
    newest = _rows(client.get("/service?sort=newest").text)
    assert newest == [late.id, mine.id]
    assert _rows(client.get("/service?status=resolved").text) == []
    # nonsense in the URL falls back to the defaults rather than failing
    assert client.get("/service?view=x&status=y&priority=z&due=w&sort=v").status_code == 200
    bad_cursor = client.get("/service?cursor=not-a-cursor")
    assert bad_cursor.status_code == 400 and 'role="alert"' in bad_cursor.text


def test_a_ticket_is_worked_through_its_forms(
    client: TestClient, people: People, session: Session, inbox: Inbox
):
    manager = people.user("manager")
    buyer = customer(session, manager.user, "李梅", email="li.mei@example.com").id
    repairs = queue(session, "维修")
    me = agent(people, repairs)
    colleague = agent(people, repairs)
    made = ticket(session, manager.user, buyer, subject="热水器打不着火", queue_id=repairs.id)
    sign_in(client, me.username, me.password)
    url = f"/service/tickets/{made.id}"

    page = client.get(url)
    assert page.status_code == 200
    assert "热水器打不着火" in page.text and "李梅" in page.text and "维修" in page.text

    def version() -> str:
        session.expire_all()
        found = session.get(Ticket, made.id)
        assert found is not None
        return str(found.version)

    # assignment and a priority change, kept in the history with who did it
    changed = submit(
        client,
        url,
        f"{url}/change",
        {
            "assignee_id": str(colleague.user.id),
            "queue_id": str(repairs.id),
            "priority": "high",
            "station_id": "",
            "category": "燃气热水器",
            "root_cause": "",
            "version": version(),
        },
    )
    assert changed.status_code == 303, changed.text
    session.expire_all()
    stored = session.get(Ticket, made.id)
    assert stored is not None
    assert (stored.assignee_id, stored.priority, stored.category, stored.status) == (
        colleague.user.id,
        "high",
        "燃气热水器",
        "assigned",
    )
    page = client.get(url)
    assert colleague.user.label in page.text and "Priority" in page.text

    # a stale form is refused on the page, not silently applied
    stale = submit(client, url, f"{url}/change", {"priority": "low", "version": "1"})
    assert stale.status_code == 422 and 'role="alert"' in stale.text

    # a move along the flow, then one the flow refuses
    moved = submit(client, url, f"{url}/status", {"status": "in_progress", "version": version()})
    assert moved.status_code == 303
    refused = submit(client, url, f"{url}/status", {"status": "closed", "version": version()})
    assert refused.status_code == 422 and 'role="alert"' in refused.text

    # an empty note is refused inline; a real one is kept as internal
    empty = submit(client, url, f"{url}/notes", {"body": "  "})
    assert empty.status_code == 422 and 'id="e-note-body"' in empty.text
    noted = submit(client, url, f"{url}/notes", {"body": "客户说周末在家"})
    assert noted.status_code == 303

    # a reply is e-mailed to the customer and kept on the ticket
    replied = submit(client, url, f"{url}/replies", {"body": "师傅明天上午上门。"})
    assert replied.status_code == 303, replied.text
    assert [to for to, _ in inbox.received] == [["li.mei@example.com"]]
    assert "师傅明天上午上门" in inbox.messages[0].get_content()
    # a reply to an address not on the record is refused, and what was typed stays
    wrong = submit(client, url, f"{url}/replies", {"body": "再联系", "to": "x@example.org"})
    assert wrong.status_code == 422 and "再联系" in wrong.text
    kinds = session.scalars(
        select(TicketMessage.kind).where(TicketMessage.ticket_id == made.id)
    ).all()
    assert sorted(kinds) == ["note", "reply"]

    # resolve, then reopen from the same buttons
    assert (
        submit(
            client, url, f"{url}/status", {"status": "resolved", "version": version()}
        ).status_code
        == 303
    )
    page = client.get(url)
    assert 'data-status="resolved"' in page.text and "Reopen" in page.text
    reopened = submit(client, url, f"{url}/status", {"status": "in_progress", "version": version()})
    assert reopened.status_code == 303
    session.expire_all()
    stored = session.get(Ticket, made.id)
    assert stored is not None and stored.status == "in_progress" and stored.reopened_count == 1

    history = client.get(url).text
    assert me.user.label in history and "Resolved" in history
    statuses = session.scalars(
        select(TicketChange.new_value).where(
            TicketChange.ticket_id == made.id, TicketChange.field == "status"
        )
    ).all()
    assert statuses[-3:] == ["in_progress", "resolved", "in_progress"]


def test_attachments_upload_and_download(client: TestClient, people: People, session: Session):
    manager = people.user("manager")
    buyer = customer(session, manager.user, "陈静").id
    made = ticket(session, manager.user, buyer)
    sign_in(client, manager.username, manager.password)
    url = f"/service/tickets/{made.id}"
    token = csrf_from(client.get(url).text)
    text = "型号 KFR-35GW, 序列号 KF35GW0001\n".encode()
    sent = client.post(
        f"{url}/attachments",
        data={"csrf_token": token},
        files={"file": ("铭牌.txt", text, "text/plain")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    page = client.get(url).text
    link = re.search(rf'href="({url}/attachments/\d+)"', page)
    assert link is not None and "铭牌.txt" in page
    download = client.get(link.group(1))
    assert download.status_code == 200 and download.content == text

    none = client.post(f"{url}/attachments", data={"csrf_token": token}, follow_redirects=False)
    assert none.status_code == 422 and 'id="e-attach-file"' in none.text
    binary = client.post(
        f"{url}/attachments",
        data={"csrf_token": token},
        files={"file": ("run.exe", b"MZ\x90\x00\x03" + bytes(200), "application/octet-stream")},
        follow_redirects=False,
    )
    assert binary.status_code == 422 and 'role="alert"' in binary.text


def test_a_duplicate_is_merged_from_its_page(client: TestClient, people: People, session: Session):
    manager = people.user("manager")
    buyer = customer(session, manager.user, "赵敏").id
    first = ticket(session, manager.user, buyer, subject="电视黑屏")
    again = ticket(session, manager.user, buyer, subject="电视黑屏 又打来")
    someone_else = ticket(session, manager.user, customer(session, manager.user, "钱进").id)
    sign_in(client, manager.username, manager.password)
    url = f"/service/tickets/{again.id}"

    wrong = submit(client, url, f"{url}/merge", {"into_id": str(someone_else.id)})
    assert wrong.status_code == 422 and 'id="e-merge-into_id"' in wrong.text
    merged = submit(client, url, f"{url}/merge", {"into_id": f"#{first.id}"})
    assert merged.status_code == 303
    assert merged.headers["location"] == f"/service/tickets/{first.id}"
    page = client.get(url).text
    assert f'href="/service/tickets/{first.id}"' in page and "Merge this ticket" not in page


def test_opening_a_ticket_from_the_form(client: TestClient, people: People, session: Session):
    agent_person = people.user("service")
    buyer = customer(session, agent_person.user, "孙丽").id
    sign_in(client, agent_person.username, agent_person.password)
    form = client.get(f"/service/tickets/new?customer_id={buyer}")
    assert form.status_code == 200 and "孙丽" in form.text

    bad = submit(
        client,
        "/service/tickets/new",
        "/service/tickets/new",
        {"customer_id": str(buyer), "kind": "complaint", "subject": "", "latitude": "95"},
    )
    assert bad.status_code == 422
    assert 'id="e-subject"' in bad.text and 'id="e-latitude"' in bad.text and "孙丽" in bad.text

    good = submit(
        client,
        "/service/tickets/new",
        "/service/tickets/new",
        {
            "customer_id": str(buyer),
            "kind": "complaint",
            "priority": "high",
            "channel": "phone",
            "subject": "送货迟到三天",
            "description": "客户很生气",
        },
    )
    assert good.status_code == 303, good.text
    page = client.get(good.headers["location"])
    assert page.status_code == 200 and "送货迟到三天" in page.text
    assert "Resolution due" in page.text


def test_who_may_open_the_service_pages(client: TestClient, people: People, session: Session):
    owner = people.user("sales")
    buyer = customer(session, owner.user, "周涛").id
    made = ticket(session, owner.user, buyer)
    outsider = people.user("sales")
    marketer = people.user("marketing")

    sign_in(client, marketer.username, marketer.password)
    for path in (
        "/service",
        "/service/lookup",
        "/service/tickets/new",
        f"/service/tickets/{made.id}",
    ):
        assert client.get(path).status_code == 403, path
    client.cookies.clear()

    lead = people.user("manager")
    sign_in(client, lead.username, lead.password)
    lead_home = client.get("/service").text
    assert 'href="/service/sla"' in lead_home and 'href="/service/satisfaction"' in lead_home
    client.cookies.clear()

    sign_in(client, outsider.username, outsider.password)
    assert client.get("/service").status_code == 200
    assert _rows(client.get("/service?view=all").text) == []
    assert client.get(f"/service/tickets/{made.id}").status_code == 404
    assert client.get(f"/service/tickets/{made.id}/attachments/1").status_code == 404
    token = csrf_from(client.get("/service").text)
    # a sales rep may read tickets but not work them
    moved = client.post(
        f"/service/tickets/{made.id}/status",
        data={"status": "in_progress", "csrf_token": token},
        follow_redirects=False,
    )
    assert moved.status_code == 403
    client.cookies.clear()

    sign_in(client, owner.username, owner.password)
    assert client.get(f"/service/tickets/{made.id}").status_code == 200
    assert made.id in _rows(client.get("/service?view=all").text)
