"""The portal's pages for a signed-in customer: their profile (only the fields an administrator
allows, audited as the customer's doing), their consents (a withdrawal honoured by the next
e-mail), their orders and contracts, and the administrator's choice of fields."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.config import Settings
from guanxi.customers import consent
from guanxi.customers.models import ConsentEvent, Customer
from guanxi.customers.schemas import ConsentIn, CustomerUpdate
from guanxi.sales.contracts import service as contract_service
from guanxi.sales.contracts.schemas import ContractCreate
from guanxi.sales.orders import service as order_service
from guanxi.sales.orders.schemas import OrderCreate
from guanxi.service_desk.portal import service as portal_service
from guanxi.service_desk.portal import settings as portal_settings
from tests.conftest import People
from tests.mail_server import Inbox
from tests.service_desk.portal_support import (
    inbox,
    make_customer,
    portal_app_settings,
    portal_client,
    sign_in,
)

__all__ = ["inbox", "portal_app_settings", "portal_client"]  # fixtures


def _customer_updates(session: Session, customer_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity_type == "customer",
                AuditEntry.entity_id == str(customer_id),
                AuditEntry.action == "update",
            )
        )
    )


def test_a_customer_changes_only_the_fields_an_admin_allows_and_it_is_audited_as_theirs(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(
        session, owner.user, "黄磊", emails=["huang.lei@example.com"], city="北京", notes="VIP"
    )
    csrf = sign_in(portal_client, session, buyer)
    form = portal_client.get("/portal/profile")
    assert form.status_code == 200
    assert 'name="city"' in form.text and 'name="notes"' not in form.text

    saved = portal_client.post(
        "/portal/profile",
        data={
            "csrf_token": csrf,
            "city": "上海",
            "address": "浦东新区世纪大道 100 号",
            "phones": ["138 0013 8000", ""],
            "preferred_channel": "email",
            # not offered: ignored, whatever the form sends
            "name": "Someone else",
            "notes": "changed by the customer",
            "owner_id": "1",
        },
        follow_redirects=False,
    )

    assert (saved.status_code, saved.headers["location"]) == (303, "/portal/profile")
    session.expire_all()
    record = session.get(Customer, buyer.id)
    assert record is not None
    assert (record.city, record.address, record.preferred_channel) == (
        "上海",
        "浦东新区世纪大道 100 号",
        "email",
    )
    assert [p.number for p in record.phones] == ["+8613800138000"]
    assert (record.name, record.notes, record.owner_id) == ("黄磊", "VIP", owner.user.id)
    [entry] = _customer_updates(session, buyer.id)
    assert entry.actor_username == f"portal:customer:{buyer.id}" and entry.actor_id is None
    assert {"city", "address", "phones", "preferred_channel"} <= set(entry.changes)
    assert "name" not in entry.changes and "notes" not in entry.changes


def test_a_bad_value_is_shown_with_what_was_typed_and_nothing_is_saved(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "高峰", emails=["gao.feng@example.com"])
    csrf = sign_in(portal_client, session, buyer)

    reply = portal_client.post(
        "/portal/profile",
        data={"csrf_token": csrf, "city": "杭州", "phones": "12", "postal_code": "x" * 30},
    )

    assert reply.status_code == 422
    assert "Not a phone number." in reply.text and 'value="杭州"' in reply.text
    session.expire_all()
    record = session.get(Customer, buyer.id)
    assert record is not None and record.city == "" and record.phones == []
    assert _customer_updates(session, buyer.id) == []


def test_the_service_ignores_fields_that_are_not_allowed_and_follows_the_admin(
    people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "马丽", emails=["ma.li@example.com"])
    change = CustomerUpdate.model_validate({"name": "X", "city": "成都", "occupation": "教师"})

    _, applied = portal_service.update_profile(session, customer_id=buyer.id, customer_in=change)
    assert applied == ["city"]
    assert (buyer.name, buyer.city, buyer.occupation) == ("马丽", "成都", "")

    portal_settings.save(session, portal_settings.PortalSettings(editable_fields=["occupation"]))
    _, applied = portal_service.update_profile(
        session,
        customer_id=buyer.id,
        customer_in=CustomerUpdate.model_validate({"city": "重庆", "occupation": "教师"}),
    )
    assert applied == ["occupation"]
    assert (buyer.city, buyer.occupation) == ("成都", "教师")


def test_profile_changes_need_the_portal_sessions_csrf_token(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "林涛", emails=["lin.tao@example.com"])
    sign_in(portal_client, session, buyer)

    for token in (None, "forged"):
        data = {"city": "广州"} | ({"csrf_token": token} if token else {})
        assert portal_client.post("/portal/profile", data=data).status_code == 403
    session.expire_all()
    assert session.get(Customer, buyer.id).city == ""  # type: ignore[union-attr]


def test_a_consent_withdrawn_in_the_portal_is_honoured_by_the_next_email(
    portal_client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "何静", emails=["he.jing@example.com"])
    consent.record(
        session=session,
        actor=owner.user,
        customer=buyer,
        consent_in=ConsentIn(purpose="marketing_email", granted=True, source="web_form"),
    )
    staff = people.token(owner)
    session.flush()
    mail = {"customer_id": buyer.id, "subject": "Spring offer", "body": "Hello"}
    assert (
        portal_client.post("/api/v1/interactions/emails", json=mail, headers=staff).status_code
        == 201
    )
    assert len(inbox.messages) == 1
    csrf = sign_in(portal_client, session, buyer)
    page = portal_client.get("/portal/consents")
    assert 'data-purpose="marketing_email"' in page.text and "Withdraw" in page.text

    withdrawn = portal_client.post(
        "/portal/consents",
        data={"csrf_token": csrf, "purpose": "marketing_email", "granted": "0"},
        follow_redirects=False,
    )

    assert withdrawn.status_code == 303
    newest = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.customer_id == buyer.id)
        .order_by(ConsentEvent.id.desc())
    ).first()
    assert newest is not None
    assert (newest.purpose, newest.granted, newest.source) == ("marketing_email", False, "portal")
    refused = portal_client.post("/api/v1/interactions/emails", json=mail, headers=staff)
    assert refused.status_code == 409
    assert len(inbox.messages) == 1
    assert consent.granted_ids(session=session, purpose="marketing_email") == set()
    # the staff see on the customer's page where the withdrawal came from
    assert "customer portal" in portal_client.get(f"/customers/{buyer.id}", headers=staff).text
    # the page shows it, and agreeing again is recorded as the customer's choice too
    assert "Agree" in portal_client.get("/portal/consents").text
    portal_client.post(
        "/portal/consents", data={"csrf_token": csrf, "purpose": "marketing_email", "granted": "1"}
    )
    assert consent.granted_ids(session=session, purpose="marketing_email") == {buyer.id}


def test_an_unknown_purpose_is_not_found(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "罗兰", emails=["luo.lan@example.com"])
    csrf = sign_in(portal_client, session, buyer)
    reply = portal_client.post(
        "/portal/consents", data={"csrf_token": csrf, "purpose": "everything", "granted": "0"}
    )
    assert reply.status_code == 404
    assert "/portal" in reply.text and 'href="/login' not in reply.text


def test_a_customer_sees_their_own_orders_and_contracts_only(
    portal_client: TestClient,
    people: People,
    session: Session,
    portal_app_settings: Settings,
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "宋佳", emails=["song.jia@example.com"])
    other = make_customer(session, owner.user, "唐宁", emails=["tang.ning@example.com"])
    numbers = {}
    for who in (buyer, other):
        order = order_service.create(
            session=session,
            actor=owner.user,
            order_in=OrderCreate(
                customer_id=who.id,
                status="confirmed",
                lines=[
                    {
                        "description": "空气净化器",
                        "quantity": Decimal(1),
                        "unit_price": Decimal("1299"),
                    }  # type: ignore[list-item]
                ],
            ),
        )
        contract = contract_service.create(
            session=session,
            actor=owner.user,
            settings=portal_app_settings,
            contract_in=ContractCreate.model_validate(
                {
                    "title": f"维保合同 {who.name}",
                    "customer_id": who.id,
                    "start_date": date(2026, 1, 1),
                    "end_date": date(2027, 1, 1),
                    "signed_on": date(2026, 1, 1),
                }
            ),
        )
        numbers[who.id] = (order.number, contract.number)
    session.flush()
    sign_in(portal_client, session, buyer)

    page = portal_client.get("/portal/orders")

    assert page.status_code == 200
    assert f'data-order="{numbers[buyer.id][0]}"' in page.text
    assert f'data-contract="{numbers[buyer.id][1]}"' in page.text
    assert numbers[other.id][0] not in page.text and numbers[other.id][1] not in page.text
    assert "维保合同 唐宁" not in page.text
