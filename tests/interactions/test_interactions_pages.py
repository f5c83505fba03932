"""Interaction pages: the 360 panel and its quick-log form, the list with filters, an
interaction's page with its edit and delete forms; roles and visibility on every one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.interactions import service
from guanxi.interactions.models import Interaction
from tests.conftest import People
from tests.interactions.support_core import audit_actions, contact, customer
from tests.web.forms import csrf_from, sign_in, submit


def _stored(session: Session, customer_id: int) -> list[Interaction]:
    session.expire_all()
    return list(
        session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer_id)
            .order_by(Interaction.id)
        )
    )


def test_the_360_panel_lists_interactions_and_its_form_logs_one(
    client: TestClient, people: People, session: Session, settings: Settings
):
    rep = people.user("sales")
    shop = customer(session, rep.user, "绍兴黄酒坊", organisation=True)
    manager = contact(session, rep.user, shop, "周经理")
    service.log(
        session,
        actor=rep.user,
        customer_id=shop,
        channel="email",
        direction="outbound",
        subject="寄送新年礼盒目录",
        occurred_at=datetime.now(UTC) - timedelta(days=3),
    )
    session.flush()
    assert sign_in(client, rep.username, rep.password).status_code == 303

    page = client.get(f"/customers/{shop}")
    assert page.status_code == 200
    assert 'id="interactions"' in page.text and "寄送新年礼盒目录" in page.text
    assert 'action="/interactions/log"' in page.text and "周经理" in page.text
    assert f'href="/interactions/email/new?customer_id={shop}"' in page.text

    logged = client.post(
        "/interactions/log",
        data={
            "csrf_token": csrf_from(page.text),
            "customer_id": str(shop),
            "next": f"/customers/{shop}#interactions",
            "channel": "visit",
            "direction": "outbound",
            "occurred_at": "2026-12-01T14:30",
            "duration_minutes": "45",
            "contact_id": str(manager),
            "outcome": "ordered",
            "subject": "上门品鉴",
            "notes": "订了二十坛。",
        },
        follow_redirects=False,
    )
    assert logged.status_code == 303, logged.text
    assert logged.headers["location"] == f"/customers/{shop}#interactions"
    visit = _stored(session, shop)[-1]
    local = datetime(2026, 12, 1, 14, 30, tzinfo=settings.zone)
    assert visit.occurred_at == local.astimezone(UTC)
    assert (visit.channel, visit.direction, visit.contact_id) == ("visit", "outbound", manager)
    assert visit.duration_seconds == 45 * 60 and visit.source == "manual"
    assert visit.user_id == rep.user.id and visit.outcome == "ordered"
    assert audit_actions(session, visit.id) == ["create"]

    back = client.get(f"/customers/{shop}")
    assert "上门品鉴" in back.text and "Interaction with 绍兴黄酒坊 logged." in back.text


def test_a_refused_quick_log_shows_the_reasons_and_stores_nothing(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    shop = customer(session, rep.user, "义乌小商品", organisation=True)
    other = customer(session, rep.user, "永康五金", organisation=True)
    strangers_contact = contact(session, rep.user, other, "吴总")
    sign_in(client, rep.username, rep.password)
    base = {"customer_id": str(shop), "channel": "phone", "direction": "inbound"}

    negative = submit(
        client, f"/customers/{shop}", "/interactions/log", base | {"duration_minutes": "-3"}
    )
    assert negative.status_code == 422
    assert "Must be at least 0." in negative.text and 'name="duration_minutes"' in negative.text
    wrong_contact = submit(
        client,
        f"/customers/{shop}",
        "/interactions/log",
        base | {"contact_id": str(strangers_contact), "subject": "保留我"},
    )
    assert wrong_contact.status_code == 422
    assert "Not a record of this customer." in wrong_contact.text
    assert 'value="保留我"' in wrong_contact.text  # what was typed stays in the form
    bad_time = submit(
        client, f"/customers/{shop}", "/interactions/log", base | {"occurred_at": "昨天"}
    )
    assert bad_time.status_code == 422 and "Not a date and time." in bad_time.text
    assert _stored(session, shop) == []

    # a link elsewhere is not followed after logging
    offsite = submit(
        client, f"/customers/{shop}", "/interactions/log", base | {"next": "//evil.example/"}
    )
    assert offsite.status_code == 303
    assert offsite.headers["location"] == f"/customers/{shop}#interactions"


def test_quick_log_respects_roles_and_visibility(
    client: TestClient, people: People, session: Session
):
    owner = people.user("sales", team=people.team("East"))
    outsider = people.user("sales", team=people.team("West"))
    analyst = people.user("analyst")
    mine = customer(session, owner.user, "金华火腿")
    service.log(session, actor=owner.user, customer_id=mine, channel="sms", direction="outbound")
    session.flush()
    body = {"customer_id": str(mine), "channel": "phone", "direction": "inbound"}

    sign_in(client, outsider.username, outsider.password)
    hidden = submit(client, "/interactions", "/interactions/log", body)
    assert hidden.status_code == 404
    assert client.get("/interactions", params={"customer_id": mine}).status_code == 404
    assert "金华火腿" not in client.get("/interactions").text
    first_id = _stored(session, mine)[0].id
    assert client.get(f"/interactions/{first_id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})

    sign_in(client, analyst.username, analyst.password)
    page = client.get(f"/customers/{mine}")
    assert 'id="interactions"' in page.text and 'action="/interactions/log"' not in page.text
    assert submit(client, f"/customers/{mine}", "/interactions/log", body).status_code == 403
    record = client.get(f"/interactions/{first_id}")
    assert record.status_code == 200 and "/edit" not in record.text
    assert len(_stored(session, mine)) == 1


def test_the_list_filters_and_the_record_edits_and_deletes(
    client: TestClient, people: People, session: Session
):
    boss = people.user("manager")
    colleague = people.user("manager")
    buyer = customer(session, boss.user, "舟山渔业")
    for days, channel in enumerate(("phone", "wechat", "meeting")):
        service.log(
            session,
            actor=boss.user,
            user_id=colleague.user.id if channel == "meeting" else None,
            customer_id=buyer,
            channel=channel,
            direction="inbound",
            subject=f"第{days + 1}次联系",
            occurred_at=datetime(2026, 11, 20 + days, 4, 0, tzinfo=UTC),
        )
    session.flush()
    sign_in(client, boss.username, boss.password)

    landing = client.get("/interactions")
    assert landing.status_code == 200
    assert all(f"第{n}次联系" in landing.text for n in (1, 2, 3))
    assert 'aria-current="page"' in landing.text  # the touch-centre tabs
    only_wechat = client.get("/interactions", params={"channel": "wechat"}).text
    assert "第2次联系" in only_wechat and "第1次联系" not in only_wechat
    mine = client.get("/interactions", params={"mine": "1"}).text
    assert "第3次联系" not in mine and "第1次联系" in mine
    one_day = client.get("/interactions", params={"from": "2026-11-21", "to": "2026-11-21"}).text
    assert "第2次联系" in one_day and "第1次联系" not in one_day and "第3次联系" not in one_day

    first_id = _stored(session, buyer)[0].id
    record = client.get(f"/interactions/{first_id}")
    assert record.status_code == 200 and "第1次联系" in record.text
    saved = client.post(
        f"/interactions/{first_id}/edit",
        data={
            "csrf_token": csrf_from(record.text),
            "version": "1",
            "channel": "fax",
            "direction": "outbound",
            "occurred_at": "2026-11-20T12:00",
            "duration_minutes": "",
            "outcome": "",
            "subject": "改成传真",
            "notes": "",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    changed = _stored(session, buyer)[0]
    assert (changed.channel, changed.subject, changed.version) == ("fax", "改成传真", 2)

    stale = client.post(
        f"/interactions/{first_id}/edit",
        data={"csrf_token": csrf_from(record.text), "version": "1", "subject": "旧的"},
        follow_redirects=False,
    )
    assert stale.status_code == 422 and 'value="旧的"' in stale.text

    deleted = client.post(
        f"/interactions/{first_id}/delete",
        data={"csrf_token": csrf_from(record.text), "version": "2"},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/customers/{buyer}#interactions"
    assert [i.subject for i in _stored(session, buyer)] == ["第2次联系", "第3次联系"]
    assert audit_actions(session, first_id) == ["create", "update", "delete"]


def test_the_forms_link_the_customers_own_opportunity(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user, "丽水香菇")
    other = customer(session, rep.user, "衢州橘子")
    made = client.post(
        "/api/v1/opportunities",
        json={"customer_id": buyer, "title": "年货香菇礼盒", "amount": "8800"},
        headers=api,
    )
    assert made.status_code == 201, made.text
    deal = made.json()["id"]
    elsewhere = client.post(
        "/api/v1/opportunities",
        json={"customer_id": other, "title": "橘子团购", "amount": "500"},
        headers=api,
    ).json()["id"]
    sign_in(client, rep.username, rep.password)

    page = client.get(f"/customers/{buyer}")
    assert "年货香菇礼盒" in page.text and "橘子团购" not in page.text
    body = {"customer_id": str(buyer), "channel": "wechat", "direction": "outbound"}
    linked = submit(
        client, f"/customers/{buyer}", "/interactions/log", body | {"opportunity_id": str(deal)}
    )
    assert linked.status_code == 303
    assert _stored(session, buyer)[0].opportunity_id == deal
    refused = submit(
        client,
        f"/customers/{buyer}",
        "/interactions/log",
        body | {"opportunity_id": str(elsewhere)},
    )
    assert refused.status_code == 422 and "Not a record of this customer." in refused.text

    record = client.get(f"/interactions/{_stored(session, buyer)[0].id}")
    assert f'<option value="{deal}" selected>' in record.text
    unlinked = client.post(
        f"/interactions/{_stored(session, buyer)[0].id}/edit",
        data={
            "csrf_token": csrf_from(record.text),
            "channel": "wechat",
            "direction": "outbound",
            "opportunity_id": "",
        },
        follow_redirects=False,
    )
    assert unlinked.status_code == 303
    assert _stored(session, buyer)[0].opportunity_id is None
