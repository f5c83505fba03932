"""The customer 360 page, the customer and contact forms, consent buttons and the timeline, as a
browser uses them (form posts with the page's CSRF token), on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.customers import custom_fields, timeline
from guanxi.customers import pages as customer_pages
from guanxi.customers.models import Contact, Customer
from guanxi.customers.schemas import CustomFieldIn
from tests.conftest import PASSWORD, People
from tests.web.forms import csrf_from, sign_in


def _customer(client: TestClient, headers: dict[str, str], **fields: object) -> int:
    reply = client.post("/api/v1/customers", json=fields, headers=headers)
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def _post(client: TestClient, page: str, action: str, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def _form(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": "person", "customer_type": "direct", "name": "王芳"}
    return {**base, **fields}


@pytest.fixture
def manager(people: People):  # type: ignore[no-untyped-def]
    return people.user("manager", team=people.team())


def test_new_customer_form_stores_phones_as_e164_and_custom_fields(
    client: TestClient, people: People, session: Session, manager
):  # type: ignore[no-untyped-def]
    custom_fields.create(
        session=session,
        field_in=CustomFieldIn(key="shoe_size", label="Shoe size", field_type="number"),
    )
    session.flush()
    sign_in(client, manager.username, PASSWORD)
    page = client.get("/customers/new")
    assert page.status_code == 200
    assert 'name="cf.shoe_size"' in page.text and "Shoe size" in page.text
    assert f'<option value="{manager.user.id}" selected>' in page.text  # owner: the actor
    reply = _post(
        client,
        "/customers/new",
        "/customers/new",
        _form(
            phone_number=["138 0013 8000", "+86 139-0013-9000", ""],
            phone_label=["mobile", "work", "mobile"],
            email_address=["Wang.Fang@Example.COM", ""],
            email_label=["work", "work"],
            family_name=["王小明", ""],
            family_relation=["son", ""],
            family_birthday=["2015-06-01", ""],
            birthday="1985-03-08",
            city="上海",
            tags="VIP，老客户",
            preferred_channel="wechat",
            id_number="110101198503081234",
            **{"cf.shoe_size": "38"},
        ),
    )
    assert reply.status_code == 303, reply.text
    customer_id = int(reply.headers["location"].rsplit("/", 1)[1])
    session.expire_all()
    customer = session.get(Customer, customer_id)
    assert [p.number for p in customer.phones] == ["+8613800138000", "+8613900139000"]
    assert [p.label for p in customer.phones] == ["mobile", "work"]
    assert [e.address for e in customer.emails] == ["wang.fang@example.com"]
    assert customer.custom_fields == {"shoe_size": 38}
    assert sorted(t.name for t in customer.tags) == ["VIP", "老客户"]
    assert [(f.name, f.birthday.isoformat()) for f in customer.family] == [("王小明", "2015-06-01")]
    assert customer.owner_id == manager.user.id

    detail = client.get(reply.headers["location"]).text
    assert "王芳" in detail and "Customer " in detail
    assert 'href="tel:+8613800138000"' in detail
    assert 'href="mailto:wang.fang@example.com"' in detail
    assert "Shoe size" in detail and "38" in detail
    assert "老客户" in detail and "WeChat" in detail
    assert "110101198503081234" not in detail and "110" in detail  # masked
    assert "Customer record created" in detail


def test_form_refuses_bad_values_inline_and_keeps_the_input(
    client: TestClient, session: Session, manager
):  # type: ignore[no-untyped-def]
    sign_in(client, manager.username, PASSWORD)
    before = session.scalar(select(func.count()).select_from(Customer))
    reply = _post(
        client,
        "/customers/new",
        "/customers/new",
        _form(
            name="",
            company="甲乙公司",
            phone_number=["138-0013-8000-1234", "13800138000"],
            phone_label=["mobile", "mobile"],
            email_address=["not-an-address"],
            birthday="1985-02-30",
            family_name=["李四"],
            family_birthday=["someday"],
        ),
    )
    assert reply.status_code == 422
    page = reply.text
    assert page.count("This field is required.") == 1
    assert 'id="e-phone_number.0"' in page and "Not a phone number." in page
    assert "Not an e-mail address." in page
    assert page.count("Write dates as 2026-11-23.") == 2  # the birthday and the family birthday
    # nothing typed is lost
    for kept in (
        'value="138-0013-8000-1234"',
        'value="13800138000"',
        'value="not-an-address"',
        "甲乙公司",
    ):
        assert kept in page
    assert session.scalar(select(func.count()).select_from(Customer)) == before


def test_form_errors_speak_the_viewers_language(client: TestClient, manager):  # type: ignore[no-untyped-def]
    # the messages are made while the form is parsed, before the template is drawn
    sign_in(client, manager.username, PASSWORD)
    client.cookies.set("guanxi_locale", "zh_CN")
    reply = _post(
        client,
        "/customers/new",
        "/customers/new",
        _form(name="", phone_number=["1234"], phone_label=["mobile"], birthday="1985-02-30"),
    )
    assert reply.status_code == 422
    assert "不是有效的电话号码。" in reply.text and "Not a phone number." not in reply.text
    assert "This field is required." not in reply.text


def test_duplicate_external_id_is_shown_at_the_field(client: TestClient, people: People, manager):  # type: ignore[no-untyped-def]
    _customer(client, people.token(manager), name="Taken", external_id="ERP-1")
    sign_in(client, manager.username, PASSWORD)
    reply = _post(client, "/customers/new", "/customers/new", _form(external_id="ERP-1"))
    assert reply.status_code == 422
    assert 'id="e-external_id"' in reply.text and "This value is taken." in reply.text


def test_stale_edit_shows_the_conflict_and_keeps_the_form(
    client: TestClient, people: People, session: Session, manager
):  # type: ignore[no-untyped-def]
    headers = people.token(manager)
    customer_id = _customer(client, headers, name="陈静", city="杭州")
    sign_in(client, manager.username, PASSWORD)
    edit = client.get(f"/customers/{customer_id}/edit").text
    assert 'name="version" value="1"' in edit
    client.patch(f"/api/v1/customers/{customer_id}", json={"city": "宁波"}, headers=headers)
    reply = client.post(
        f"/customers/{customer_id}/edit",
        data={
            **_form(name="陈静", city="温州"),
            "version": "1",
            "csrf_token": csrf_from(edit),
        },
        follow_redirects=False,
    )
    assert reply.status_code == 422
    assert "changed since you loaded it" in reply.text
    assert 'value="温州"' in reply.text  # the user's edit is still in the form
    session.expire_all()
    assert session.get(Customer, customer_id).city == "宁波"  # nothing overwritten


def test_edit_saves_clears_fields_and_the_timeline_shows_the_change(
    client: TestClient, people: People, session: Session, manager
):  # type: ignore[no-untyped-def]
    customer_id = _customer(
        client, people.token(manager), name="赵磊", city="北京", occupation="教师", gender="male"
    )
    sign_in(client, manager.username, PASSWORD)
    edit = client.get(f"/customers/{customer_id}/edit")
    assert 'value="教师"' in edit.text
    reply = client.post(
        f"/customers/{customer_id}/edit",
        data={
            **_form(name="赵磊", city="天津", occupation="", gender="female"),
            "version": "1",
            "csrf_token": csrf_from(edit.text),
        },
        follow_redirects=False,
    )
    assert reply.status_code == 303 and reply.headers["location"] == f"/customers/{customer_id}"
    session.expire_all()
    customer = session.get(Customer, customer_id)
    assert (customer.city, customer.occupation, customer.gender) == ("天津", "", "female")
    page = client.get(f"/customers/{customer_id}").text
    assert "Changes saved." in page
    assert "Customer record changed" in page
    # field labels, not column names; choice values as labels
    assert "<dt>City</dt>" in page and "<del>北京</del>" in page and "<ins>天津</ins>" in page
    assert "<del>Male</del>" in page and "<ins>Female</ins>" in page
    assert "<dt>Occupation</dt>" in page


def test_the_360_page_shows_profile_contacts_tags_and_consent(
    client: TestClient, people: People, manager
):  # type: ignore[no-untyped-def]
    headers = people.token(manager)
    org = _customer(
        client,
        headers,
        name="华东贸易有限公司",
        kind="organisation",
        customer_type="distributor",
        industry="批发",
        risk_level="high",
        tags=["重点客户"],
    )
    client.post(
        "/api/v1/contacts",
        json={
            "organisation_id": org,
            "name": "孙丽",
            "title": "采购经理",
            "purchase_role": "decision_maker",
            "phone": "13700001111",
            "email": "sun@huadong.example",
        },
        headers=headers,
    )
    client.post(
        f"/api/v1/customers/{org}/consents",
        json={"purpose": "marketing_sms", "granted": True, "source": "paper form"},
        headers=headers,
    )
    sign_in(client, manager.username, PASSWORD)
    page = client.get(f"/customers/{org}").text
    for shown in ("华东贸易有限公司", "Organisation", "Distributor", "批发", "重点客户"):
        assert shown in page
    assert "Risk level: High" in page
    assert "孙丽" in page and "采购经理" in page and "Decision maker" in page
    assert 'href="tel:+8613700001111"' in page and "/contacts/" in page
    assert "Add contact" in page
    assert "Marketing SMS" in page and "paper form" in page
    assert "Consent granted: Marketing SMS" in page  # the consent event in the timeline
    assert "Customer portrait" in page and "Not scored yet" in page  # no run yet
    assert f"/customers/merge?a={org}" in page
    assert f"/customers/duplicates?customer_id={org}" in page
    assert f"/customers/{org}/personal-data" in page


def test_one_click_withdraw_changes_the_state_and_adds_history(
    client: TestClient, people: People, manager
):  # type: ignore[no-untyped-def]
    headers = people.token(manager)
    customer_id = _customer(client, headers, name="周敏")
    client.post(
        f"/api/v1/customers/{customer_id}/consents",
        json={"purpose": "marketing_email", "granted": True, "source": "web form"},
        headers=headers,
    )
    sign_in(client, manager.username, PASSWORD)
    page = client.get(f"/customers/{customer_id}").text
    assert "Consent history (1)" in page
    reply = client.post(
        f"/customers/{customer_id}/consents",
        data={"purpose": "marketing_email", "granted": "0", "csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    state = client.get(f"/api/v1/customers/{customer_id}/consents", headers=headers).json()
    assert state["marketing_email"]["granted"] is False
    assert state["marketing_email"]["recorded_by"] == manager.username
    page = client.get(f"/customers/{customer_id}").text
    assert "Consent withdrawn: Marketing e-mail" in page
    assert "Consent history (2)" in page and "recorded on the customer page" in page
    # an unknown purpose is refused, not recorded
    bad = client.post(
        f"/customers/{customer_id}/consents",
        data={"purpose": "spam", "granted": "1", "csrf_token": csrf_from(page)},
    )
    assert bad.status_code == 422


def test_other_sales_reps_customers_are_not_found_anywhere(client: TestClient, people: People):
    owner = people.user("sales", team=people.team())
    theirs = _customer(client, people.token(owner), name="Hidden", kind="organisation")
    me = people.user("sales", team=people.team())
    sign_in(client, me.username, PASSWORD)
    token = csrf_from(client.get("/").text)
    assert client.get(f"/customers/{theirs}").status_code == 404
    assert client.get(f"/customers/{theirs}/edit").status_code == 404
    posts = {
        f"/customers/{theirs}/edit": _form(name="Mine now", version="1"),
        f"/customers/{theirs}/consents": {"purpose": "marketing_email", "granted": "1"},
        f"/customers/{theirs}/contacts": {"name": "Spy"},
    }
    for action, data in posts.items():
        assert client.post(action, data={**data, "csrf_token": token}).status_code == 404, action


def test_a_read_only_role_sees_no_edit_buttons_and_cannot_post(
    client: TestClient, people: People, manager
):  # type: ignore[no-untyped-def]
    customer_id = _customer(client, people.token(manager), name="刘强", kind="organisation")
    analyst = people.user("analyst")
    sign_in(client, analyst.username, PASSWORD)
    page = client.get(f"/customers/{customer_id}")
    assert page.status_code == 200 and "刘强" in page.text
    assert f"/customers/{customer_id}/edit" not in page.text
    assert f"/customers/{customer_id}/delete" not in page.text
    assert "Withdraw" not in page.text and ">Grant<" not in page.text
    assert "Add contact" not in page.text
    token = csrf_from(page.text)
    for action in ("edit", "delete", "consents", "contacts"):
        data = {"csrf_token": token, "name": "x", "purpose": "profiling", "granted": "1"}
        assert client.post(f"/customers/{customer_id}/{action}", data=data).status_code == 403
    assert client.get(f"/customers/{customer_id}/edit").status_code == 403


def test_add_edit_and_delete_a_contact(
    client: TestClient, people: People, session: Session, manager
):  # type: ignore[no-untyped-def]
    org = _customer(client, people.token(manager), name="Acme 贸易", kind="organisation")
    sign_in(client, manager.username, PASSWORD)
    page = f"/customers/{org}"
    bad = _post(client, page, f"/customers/{org}/contacts", {"name": "钱多", "email": "nope"})
    assert bad.status_code == 422
    assert "Not an e-mail address." in bad.text and 'value="nope"' in bad.text
    added = _post(
        client,
        page,
        f"/customers/{org}/contacts",
        {"name": "钱多", "title": "CFO", "purchase_role": "buyer", "phone": "138 0013 8001"},
    )
    assert added.status_code == 303
    contact = session.scalars(select(Contact).where(Contact.organisation_id == org)).one()
    assert contact.phone == "+8613800138001" and contact.purchase_role == "buyer"
    edit_url = f"/contacts/{contact.id}/edit"
    form = client.get(edit_url)
    assert form.status_code == 200 and 'value="CFO"' in form.text
    bad_edit = client.post(
        edit_url,
        data={"name": "钱多", "phone": "12", "version": "1", "csrf_token": csrf_from(form.text)},
    )
    assert bad_edit.status_code == 422 and "Not a phone number." in bad_edit.text
    saved = _post(
        client,
        edit_url,
        edit_url,
        {"name": "钱多多", "title": "", "purchase_role": "decision_maker", "version": "1"},
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/customers/{org}#contacts"
    session.expire_all()
    contact = session.get(Contact, contact.id)
    assert (contact.name, contact.title, contact.purchase_role) == ("钱多多", "", "decision_maker")
    assert contact.phone == ""  # emptied in the form, so cleared
    deleted = _post(client, edit_url, f"/contacts/{contact.id}/delete", {"version": "2"})
    assert deleted.status_code == 303
    after = client.get(f"/customers/{org}").text
    assert "Contact 钱多多 deleted." in after and edit_url not in after
    assert client.get(edit_url).status_code == 404


def test_delete_moves_the_customer_to_the_bin(client: TestClient, people: People, manager):  # type: ignore[no-untyped-def]
    customer_id = _customer(client, people.token(manager), name="To go")
    sign_in(client, manager.username, PASSWORD)
    reply = _post(
        client, f"/customers/{customer_id}", f"/customers/{customer_id}/delete", {"version": "1"}
    )
    assert reply.status_code == 303
    assert client.get(f"/customers/{customer_id}").status_code == 404


def test_timeline_pages_by_time_and_filters_by_kind(
    client: TestClient, people: People, session: Session, manager, monkeypatch
):  # type: ignore[no-untyped-def]
    headers = people.token(manager)
    customer_id = _customer(client, headers, name="孔明")
    for city in ("成都", "重庆", "西安"):
        client.patch(f"/api/v1/customers/{customer_id}", json={"city": city}, headers=headers)
    for granted in (True, False):
        client.post(
            f"/api/v1/customers/{customer_id}/consents",
            json={"purpose": "profiling", "granted": granted, "source": "call"},
            headers=headers,
        )
    customer = session.get(Customer, customer_id)
    seen, cursor = [], None
    while True:
        page = timeline.stream(session, customer, cursor=cursor, limit=2)
        seen.extend(page.entries)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 6 and len({e.key for e in seen}) == 6  # 1 create, 3 changes, 2 consents
    assert [e.at for e in seen] == sorted((e.at for e in seen), reverse=True)

    monkeypatch.setattr(customer_pages, "TIMELINE_PAGE", 4)
    sign_in(client, manager.username, PASSWORD)
    first = client.get(f"/customers/{customer_id}").text
    assert "Load older" in first and "Customer record created" not in first
    link = re.search(r'href="([^"]+)">Load older', first)
    assert link and "before=" in link.group(1)
    second = client.get(html.unescape(link.group(1))).text
    assert "Customer record created" in second and "Load older" not in second
    only_consent = client.get(f"/customers/{customer_id}?timeline=consent").text
    timeline_part = only_consent.split('id="timeline"')[1]
    assert "Consent withdrawn: Profiling and analytics" in timeline_part
    assert "Customer record changed" not in timeline_part


def test_new_and_numeric_paths_do_not_capture_other_pages(client: TestClient, manager):  # type: ignore[no-untyped-def]
    sign_in(client, manager.username, PASSWORD)
    assert "New customer" in client.get("/customers/new").text
    assert client.get("/customers/duplicates").status_code == 200
    assert client.get("/customers/999999999").status_code == 404


def test_the_timeline_shows_contacts_joining_and_changing(
    client: TestClient, people: People, manager
):  # type: ignore[no-untyped-def]
    headers = people.token(manager)
    org = _customer(client, headers, name="华为技术", kind="organisation")
    contact = client.post(
        "/api/v1/contacts",
        json={"organisation_id": org, "name": "余承东", "title": "CEO"},
        headers=headers,
    ).json()
    changed = client.patch(
        f"/api/v1/contacts/{contact['id']}",
        json={"title": "董事长", "purchase_role": "decision_maker"},
        headers={**headers, "If-Match": f'"{contact["version"]}"'},
    )
    assert changed.status_code == 200, changed.text
    sign_in(client, manager.username, PASSWORD)
    page = html.unescape(client.get(f"/customers/{org}", params={"timeline": "contact"}).text)
    assert "Contact 余承东 added" in page and "Contact 余承东 changed" in page
    assert "董事长" in page and "Decision maker" in page
    assert f'href="/contacts/{contact["id"]}/edit"' in page
    # another customer's timeline does not show them
    other = _customer(client, headers, name="别家")
    assert "余承东" not in client.get(f"/customers/{other}").text


def test_contact_forms_carry_the_contacts_custom_fields(
    client: TestClient, people: People, session: Session, manager
):  # type: ignore[no-untyped-def]
    custom_fields.create(
        session=session,
        field_in=CustomFieldIn(
            key="desk", label="Desk", field_type="choice", choices=["A", "B"], entity="contact"
        ),
    )
    session.flush()
    org = _customer(client, people.token(manager), name="Acme 贸易", kind="organisation")
    sign_in(client, manager.username, PASSWORD)
    added = _post(
        client, f"/customers/{org}", f"/customers/{org}/contacts", {"name": "钱多", "cf.desk": "A"}
    )
    assert added.status_code == 303
    contact = session.scalars(select(Contact).where(Contact.organisation_id == org)).one()
    assert contact.custom_fields == {"desk": "A"}
    edit_url = f"/contacts/{contact.id}/edit"
    form = client.get(edit_url).text
    assert 'name="cf.desk"' in form and '<option value="A" selected>' in form
    refused = _post(client, edit_url, edit_url, {"name": "钱多", "cf.desk": "Z", "version": "1"})
    assert refused.status_code == 422 and 'id="e-cf.desk"' in refused.text
    saved = _post(client, edit_url, edit_url, {"name": "钱多", "cf.desk": "B", "version": "1"})
    assert saved.status_code == 303
    session.expire_all()
    assert session.get(Contact, contact.id).custom_fields == {"desk": "B"}  # type: ignore[union-attr]
