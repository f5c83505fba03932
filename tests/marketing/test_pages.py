"""The marketing pages as a browser without scripts uses them: the segment list where /marketing
opens, with each segment's size for the viewer; the explorer's figures, saving (with the
conditions kept on a refusal), changing and deleting; and the customer list and export reading
``segment=<id>``."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.marketing.segments import service
from guanxi.marketing.segments.models import Segment
from guanxi.marketing.segments.schemas import SegmentCreate
from tests.conftest import PASSWORD, People
from tests.marketing.support import SEGMENT, Book
from tests.web.forms import csrf_from, sign_in

QUERY = "tier=vip%2Ckey&city=%E4%B8%8A%E6%B5%B7"


def _saved(session: Session, book: Book, name: str = "上海大客户") -> Segment:
    segment = service.create(
        session=session,
        actor=book.analyst.user,
        segment_in=SegmentCreate(name=name, params=[tuple(p) for p in SEGMENT]),  # type: ignore[misc]
    )
    session.flush()
    return segment


def _size(page: str) -> int:
    match = re.search(r'data-figure="size" data-value="(\d+)"', page)
    assert match, "the explorer shows no size"
    return int(match.group(1))


def _total(page: str) -> int:
    match = re.search(r'data-total="(\d+)"', page)
    assert match, "the list shows no total"
    return int(match.group(1))


def test_marketing_opens_on_the_segment_list_with_the_viewers_sizes(
    client: TestClient, session: Session, book: Book
):
    segment = _saved(session, book)
    sign_in(client, book.alice.username, PASSWORD)
    page = client.get("/marketing")
    assert page.status_code == 200
    assert "上海大客户" in page.text
    assert re.search(rf'data-segment-size="{segment.id}">\s*<strong>1</strong>', page.text)
    assert "Value tier: VIP (deferential), Key (caring)" in html.unescape(page.text)
    assert f'href="/customers?segment={segment.id}"' in page.text
    assert "New segment" not in page.text  # sales may read segments, not make them
    assert client.get("/marketing/segments/new").status_code == 403


def test_marketing_without_segments_is_the_area_page(client: TestClient, people: People):
    agent = people.user("service")  # reads loyalty, not segments
    sign_in(client, agent.username, PASSWORD)
    page = client.get("/marketing")
    assert page.status_code == 200
    assert "Campaigns, segments, automation and loyalty." in page.text
    assert client.get("/marketing/segments").status_code == 403


def test_explore_and_save_a_segment(client: TestClient, session: Session, book: Book):
    sign_in(client, book.analyst.username, PASSWORD)
    page = client.get(f"/marketing/segments/new?{QUERY}")
    assert page.status_code == 200
    assert _size(page.text) == 3
    text = html.unescape(page.text)
    assert "City: 上海" in text and "/customers?tier=vip%2Ckey&amp;city" in page.text
    assert "/static/marketing/segment_explorer.js" in page.text
    assert "data-sparkline" in page.text  # two runs: a trend to draw
    saved = client.post(
        "/marketing/segments",
        data={
            "name": "上海大客户",
            "description": "每月回访",
            "params": QUERY,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    segment = session.query(Segment).filter_by(name="上海大客户").one()
    assert saved.headers["location"] == f"/marketing/segments/{segment.id}"
    assert service.pairs_of(segment) == [("tier", "vip,key"), ("city", "上海")]
    shown = client.get(saved.headers["location"])
    assert "Segment 上海大客户 saved." in shown.text
    assert f'href="/customers?segment={segment.id}"' in shown.text
    # analysts read customers but do not export them
    assert f'href="/customers/export?segment={segment.id}"' not in shown.text
    assert _size(shown.text) == 3


def test_a_refused_save_keeps_what_was_entered(client: TestClient, session: Session, book: Book):
    _saved(session, book)
    sign_in(client, book.analyst.username, PASSWORD)
    token = csrf_from(client.get("/marketing/segments/new").text)
    taken = client.post(
        "/marketing/segments",
        data={"name": "上海大客户", "description": "备注", "params": QUERY, "csrf_token": token},
    )
    assert taken.status_code == 422
    assert "A segment named 上海大客户 already exists." in taken.text
    kept = html.unescape(taken.text)
    assert f'name="params" value="{QUERY}"' in kept and ">备注</textarea>" in kept
    bad = client.post(
        "/marketing/segments",
        data={"name": "金卡", "params": "tier=gold&city=上海", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "<code>tier</code>: Choose from the listed values." in bad.text
    assert 'value="金卡"' in bad.text
    empty = client.post(
        "/marketing/segments", data={"name": "空", "params": "", "csrf_token": token}
    )
    assert empty.status_code == 422 and "Add at least one condition." in empty.text


def test_change_and_delete_a_segment(client: TestClient, session: Session, book: Book):
    segment = _saved(session, book)
    sign_in(client, book.analyst.username, PASSWORD)
    url = f"/marketing/segments/{segment.id}"
    token = csrf_from(client.get(url).text)
    stale = client.post(
        url, data={"name": "新", "params": "city=北京", "version": "9", "csrf_token": token}
    )
    assert stale.status_code == 422
    assert "The record changed since you loaded it" in html.unescape(stale.text)
    assert "Load the current version" in stale.text
    changed = client.post(
        url,
        data={"name": "北京", "params": "city=北京", "version": "1", "csrf_token": token},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    session.refresh(segment)
    assert (segment.name, service.pairs_of(segment)) == ("北京", [("city", "北京")])
    deleted = client.post(
        f"{url}/delete", data={"version": "2", "csrf_token": token}, follow_redirects=False
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == "/marketing/segments"
    assert "Segment 北京 deleted." in client.get("/marketing/segments").text
    assert client.get(url).status_code == 404


def test_the_customer_list_and_export_page_read_a_saved_segment(
    client: TestClient, session: Session, book: Book
):
    segment = _saved(session, book)
    sign_in(client, book.bob.username, PASSWORD)
    page = client.get(f"/customers?segment={segment.id}")
    assert page.status_code == 200 and _total(page.text) == 2
    assert f"/customers/export?segment={segment.id}" in page.text
    export = client.get(f"/customers/export?segment={segment.id}")
    assert export.status_code == 200
    unknown = client.get("/customers?segment=999999")
    assert unknown.status_code == 400
    assert "There is no saved segment 999999: it may have been deleted." in unknown.text


def test_the_explorer_shows_a_broken_definition_and_its_reason(
    client: TestClient, session: Session, book: Book
):
    segment = _saved(session, book)
    segment.definition = {"params": [["tier", "gold"]]}
    session.flush()
    sign_in(client, book.analyst.username, PASSWORD)
    listing = client.get("/marketing/segments")
    assert "Conditions no longer work" in listing.text
    page = client.get(f"/marketing/segments/{segment.id}")
    assert page.status_code == 200
    assert "<code>tier</code>: Choose from the listed values." in page.text
