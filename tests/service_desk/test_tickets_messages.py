"""Notes, replies and attachments on tickets: a reply reaches a real SMTP server on loopback,
is logged as the customer's outbound e-mail interaction and counts as the first response; a
refused reply keeps nothing; attachments are checked by size and by the type their bytes show,
stored by SHA-256 under the data directory and given back only to those who see the ticket."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.db import Database
from guanxi.interactions.models import Interaction
from guanxi.service_desk import attachments
from guanxi.service_desk.models import Ticket, TicketMessage
from tests.conftest import TEST_SECRET, People
from tests.interactions.support_mail import set_consent
from tests.mail_server import Inbox, smtp_server
from tests.service_desk.support import agent, customer, queue, ticket

API = "/api/v1/tickets"
LIMIT = 64 * 1024


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database: Database, inbox: Inbox) -> Settings:
    """The app's settings: mail through the loopback server, attachments up to 64 KiB."""
    return Settings(
        data_dir=tmp_path,
        database_url=database.url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
        smtp_host=inbox.host,
        smtp_port=inbox.port,
        mail_from="crm@guanxi.test",
        ticket_attachment_max_bytes=LIMIT,
    )


@pytest.fixture
def desk(session: Session, people: People) -> dict[str, Any]:
    rep = people.user("sales")
    buyer = customer(session, rep.user, "王小明", email="Wang@Example.com")
    repairs = queue(session, "维修")
    worker = agent(people, repairs)
    made = ticket(session, rep.user, buyer.id, subject="空调不制冷")
    return {
        "customer": buyer,
        "ticket": made,
        "agent": worker,
        "headers": people.token(worker),
        "outsider": people.token(people.user("sales")),
        "rep_headers": people.token(rep),
    }


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_a_note_stays_internal_and_a_reply_is_mailed_and_logged(
    client: TestClient, session: Session, desk: dict[str, Any], inbox: Inbox
) -> None:
    url = f"{API}/{desk['ticket'].id}"
    note = client.post(f"{url}/notes", json={"body": "压缩机可能坏了"}, headers=desk["headers"])
    assert note.status_code == 201
    assert note.json()["kind"] == "note" and note.json()["interaction_id"] is None
    assert inbox.received == []
    assert client.get(url, headers=desk["headers"]).json()["first_responded_at"] is None

    sent = client.post(
        f"{url}/replies", json={"body": "您好，师傅明天上午上门。"}, headers=desk["headers"]
    )

    assert sent.status_code == 201, sent.text
    assert len(inbox.received) == 1
    recipients, message = inbox.received[0]
    assert recipients == ["wang@example.com"]
    assert str(message["Subject"]) == f"[#{desk['ticket'].id}] 空调不制冷"
    assert "师傅明天上午上门" in message.get_content()
    interaction = session.get(Interaction, sent.json()["interaction_id"])
    assert interaction is not None
    assert (interaction.customer_id, interaction.channel, interaction.direction) == (
        desk["customer"].id,
        "email",
        "outbound",
    )
    assert interaction.user_id == desk["agent"].user.id
    assert interaction.message_id == str(message["Message-ID"])
    first = client.get(url, headers=desk["headers"]).json()["first_responded_at"]
    assert first is not None
    # a second reply is not the first response
    client.post(f"{url}/replies", json={"body": "请问方便吗？"}, headers=desk["headers"])
    assert client.get(url, headers=desk["headers"]).json()["first_responded_at"] == first
    kinds = [m["kind"] for m in client.get(f"{url}/messages", headers=desk["headers"]).json()]
    assert kinds == ["note", "reply", "reply"]


def test_a_reply_reaches_a_customer_who_withdrew_consent_to_e_mail(
    client: TestClient, session: Session, desk: dict[str, Any], inbox: Inbox
) -> None:
    set_consent(session, desk["customer"].id, granted=False)
    url = f"{API}/{desk['ticket'].id}"
    answered = client.post(f"{url}/replies", json={"body": "您好"}, headers=desk["headers"])
    assert answered.status_code == 201, answered.text
    assert len(inbox.received) == 1
    # what the company starts is still refused
    started = client.post(
        "/api/v1/interactions/emails",
        json={"customer_id": desk["customer"].id, "subject": "新品", "body": "优惠"},
        headers=desk["headers"],
    )
    assert started.status_code == 409, started.text
    assert len(inbox.received) == 1


def test_a_refused_reply_keeps_nothing(
    client: TestClient, session: Session, desk: dict[str, Any], inbox: Inbox
) -> None:
    url = f"{API}/{desk['ticket'].id}"
    foreign = client.post(
        f"{url}/replies", json={"body": "您好", "to": "x@evil.example"}, headers=desk["headers"]
    )
    assert foreign.status_code == 422
    assert inbox.received == []
    session.expire_all()
    messages = session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id == desk["ticket"].id)
    ).all()
    assert list(messages) == []
    assert session.get(Ticket, desk["ticket"].id).first_responded_at is None  # type: ignore[union-attr]
    empty = client.post(f"{url}/replies", json={"body": ""}, headers=desk["headers"])
    assert empty.status_code == 422


def test_an_attachment_is_stored_by_checksum_and_given_back(
    client: TestClient, settings: Settings, desk: dict[str, Any]
) -> None:
    data = _png()
    url = f"{API}/{desk['ticket'].id}/attachments"
    # the name and the claimed type say text; the bytes say PNG, and the bytes win
    upload = client.post(
        url, files={"file": ("../../etc/故障.txt", data, "text/plain")}, headers=desk["headers"]
    )
    assert upload.status_code == 201, upload.text
    made = upload.json()
    digest = hashlib.sha256(data).hexdigest()
    assert (made["sha256"], made["size"], made["content_type"]) == (digest, len(data), "image/png")
    assert made["filename"] == "故障.txt"
    stored = settings.data_dir / "attachments" / digest[:2] / digest
    assert stored.read_bytes() == data
    assert attachments.checksum(stored) == digest

    listed = client.get(url, headers=desk["headers"]).json()
    assert [a["id"] for a in listed] == [made["id"]]
    download = client.get(f"{url}/{made['id']}", headers=desk["rep_headers"])
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "image/png"
    assert "attachment" in download.headers["content-disposition"]
    assert client.get(f"{url}/{made['id']}", headers=desk["outsider"]).status_code == 404
    assert client.get(f"{url}/{made['id'] + 999}", headers=desk["headers"]).status_code == 404


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.txt", b""),
        ("too-big.txt", b"a" * (LIMIT + 1)),
        ("photo.jpg", b"MZ\x90\x00" + b"\x00" * 64),  # a Windows program named as a photo
        ("binary.txt", bytes(range(256))),
    ],
)
def test_an_attachment_too_large_or_of_a_type_not_allowed_is_refused(
    client: TestClient, settings: Settings, desk: dict[str, Any], name: str, data: bytes
) -> None:
    reply = client.post(
        f"{API}/{desk['ticket'].id}/attachments",
        files={"file": (name, data, "image/jpeg")},
        headers=desk["headers"],
    )
    assert reply.status_code == 422, reply.text
    assert [e["field"] for e in reply.json()["errors"]] == ["file"]
    assert not (settings.data_dir / "attachments").exists()


def test_a_file_exactly_at_the_limit_is_accepted(client: TestClient, desk: dict[str, Any]) -> None:
    reply = client.post(
        f"{API}/{desk['ticket'].id}/attachments",
        files={"file": ("log.txt", b"a" * LIMIT, "text/plain")},
        headers=desk["headers"],
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["content_type"] == "text/plain"
