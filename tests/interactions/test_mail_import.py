"""Reading mail into the touch centre: uploaded .eml and .mbox files and the admin's IMAP
mailbox are matched by address (customers' and contacts', in any letter case) and logged as
e-mail interactions; mail from nobody known is counted as unmatched, our own sent mail is
logged as outbound, and reading the same mail again logs nothing twice.

The IMAP tests run the job against pymap, a real IMAP server, on loopback."""

from __future__ import annotations

import imaplib
import importlib.util
import ipaddress
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi import schema, settings_store
from guanxi.audit.models import AuditEntry
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.errors import InvalidInput
from guanxi.interactions.mail import admin_settings as mail_settings
from guanxi.interactions.mail import inbound as mail_inbound
from guanxi.interactions.mail import jobs as mail_jobs
from guanxi.interactions.mail.schemas import ImportResult, MailSettingsIn
from tests.conftest import PASSWORD, TEST_SECRET, People, skip_or_fail
from tests.interactions.support_mail import DATA, contact, customer, email_interactions

OURS = "crm@guanxi.test"


def _settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mail_from": f"Guanxi CRM <{OURS}>"})


def _upload(name: str) -> list[EmailMessage]:
    return mail_inbound.parse_upload(filename=name, data=(DATA / name).read_bytes())


def test_an_eml_is_matched_to_the_customer_by_address_in_any_case(
    session: Session, people: People, settings: Settings
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "王小明", emails=["xiaoming@example.com"])

    result = mail_inbound.import_messages(
        session,
        actor=sales.user,
        settings=_settings(settings),
        messages=_upload("inbound.eml"),
        source="inbound.eml",
    )

    assert result == ImportResult(read=1, matched=1, logged=1, duplicates=0, unmatched=0)
    [logged] = email_interactions(session, buyer.id)
    assert logged.direction == "inbound"
    assert logged.source == "email_in"
    assert logged.subject == "关于订单 1024 的问题"
    assert logged.notes == "你好，订单 1024 还没有到。\n谢谢！"  # the plain part, not the HTML
    assert logged.message_id == "<20260303011500.4711@mail.example.com>"
    assert logged.email_address == "xiaoming@example.com"
    assert logged.occurred_at == datetime(
        2026, 3, 3, 1, 15, tzinfo=UTC
    )  # 09:15 +0800, stored as UTC


def test_an_mbox_is_matched_by_customer_and_contact_address_and_a_reupload_logs_nothing_twice(
    session: Session, people: People, settings: Settings
) -> None:
    sales = people.user("sales")
    person = customer(session, sales.user, "王小明", emails=["xiaoming@example.com"])
    firm = customer(session, sales.user, "青山茶业", kind="organisation")
    chen = contact(session, sales.user, firm, "陈采购", "chen@qingshan.example")
    sending = _settings(settings)

    first = mail_inbound.import_messages(
        session,
        actor=sales.user,
        settings=sending,
        messages=_upload("mailbox.mbox"),
        source="mailbox.mbox",
    )
    again = mail_inbound.import_messages(
        session,
        actor=sales.user,
        settings=sending,
        messages=_upload("mailbox.mbox"),
        source="mailbox.mbox",
    )

    # four mails match; the reply from us names two customers, so they log five interactions
    assert first == ImportResult(read=5, matched=4, logged=5, duplicates=0, unmatched=1)
    assert again == ImportResult(read=5, matched=4, logged=0, duplicates=5, unmatched=1)
    on_person = email_interactions(session, person.id)
    assert [(i.subject, i.direction) for i in on_person] == [
        ("Invoice please", "inbound"),
        ("Re: Invoice please", "outbound"),
        ("No message id here", "inbound"),
    ]
    invoice = on_person[0]
    assert invoice.notes == "Please send the invoice for order 1024.\nThanks & regards"
    on_firm = email_interactions(session, firm.id)
    assert [(i.subject, i.direction, i.contact_id, i.email_address) for i in on_firm] == [
        ("Quote for 200 boxes of tea", "inbound", chen, "chen@qingshan.example"),
        ("Re: Invoice please", "outbound", chen, "chen@qingshan.example"),
    ]
    audits = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "import", AuditEntry.entity_type == "interaction")
        .order_by(AuditEntry.id)
    ).all()
    assert [a.changes["logged"] for a in audits] == [5, 0]
    assert audits[0].changes["source"] == "mailbox.mbox"


def test_a_users_import_matches_only_the_customers_they_may_see(
    session: Session, people: People, settings: Settings
) -> None:
    owner = people.user("sales")
    other = people.user("sales")
    customer(session, owner.user, "王小明", emails=["xiaoming@example.com"])

    result = mail_inbound.import_messages(
        session,
        actor=other.user,
        settings=_settings(settings),
        messages=_upload("inbound.eml"),
        source="inbound.eml",
    )

    assert result == ImportResult(read=1, matched=0, logged=0, duplicates=0, unmatched=1)
    assert email_interactions(session) == []


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("empty.eml", b"", "The file is empty."),
        ("notes.txt", b"From: a@b.example\n\nhi", "Upload an .eml file (one message) or an .mbox"),
        ("not_mail.eml", None, "The file holds no e-mail: a message has no From header."),
        ("empty.mbox", b"\n\n", "The mailbox holds no messages."),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem(
    name: str, data: bytes | None, problem: str
) -> None:
    content = (DATA / name).read_bytes() if data is None else data
    with pytest.raises(InvalidInput) as refused:
        mail_inbound.parse_upload(filename=name, data=content)
    assert refused.value.detail.startswith(problem)
    assert [e.field for e in refused.value.errors] == ["file"]


# ---------------------------------------------------------------- the IMAP job, on pymap


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ImapServer:
    port: int
    user: str = "crm"
    password: str = "mailbox-pass-1"

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, *messages: EmailMessage) -> None:
        imap = self.client()
        try:
            for message in messages:
                kind, _ = imap.append("INBOX", None, None, message.as_bytes())
                assert kind == "OK"
        finally:
            imap.logout()

    def unseen(self) -> int:
        imap = self.client()
        try:
            imap.select("INBOX", readonly=True)
            _, found = imap.search(None, "UNSEEN")
            return len(found[0].split())
        finally:
            imap.logout()


@contextmanager
def _pymap(tls: list[str]) -> Iterator[ImapServer]:
    """pymap's in-memory backend on loopback, one user, started as a process of its own."""
    if importlib.util.find_spec("pymap") is None:
        skip_or_fail("pymap is not installed (the [test] extra has it)")
    server = ImapServer(_free_port())
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pymap.main import main; sys.exit(main())",
            "--host",
            "127.0.0.1",
            "--port",
            str(server.port),
            *tls,
            "dict",
            "--demo-user",
            server.user,
            "--demo-password",
            server.password,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server.client().logout()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    with _pymap(["--no-tls"]) as server:
        yield server


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as a small site's own CA would issue."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "imap.crt", directory / "imap.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def imap_tls_server(tmp_path: Path) -> Iterator[tuple[ImapServer, Path]]:
    """pymap offering STARTTLS with a certificate the test may choose to trust."""
    cert, key = _self_signed(tmp_path)
    with _pymap(["--cert", str(cert), "--key", str(key)]) as server:
        yield server, cert


def _mail(sender: str, subject: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = OURS
    message["Subject"] = subject
    message["Date"] = "Thu, 5 Mar 2026 08:00:00 +0000"
    message["Message-ID"] = message_id
    message.set_content(f"{subject}, in plain text.")
    return message


@pytest.fixture
def store(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[Database, Settings, int]]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    settings = Settings(
        data_dir=tmp_path,
        database_url=fresh_database_url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        mail_from=OURS,
    )
    with db.unit_of_work() as session:
        owner = auth_service.create_user(
            session=session, user_in=UserCreate(username="owner", password=PASSWORD, role="sales")
        )
        buyer = customer(session, owner, "王小明", emails=["xiaoming@example.com"])
        buyer_id = buyer.id
    try:
        yield db, settings, buyer_id
    finally:
        db.dispose()


def _configure(
    db: Database, settings: Settings, server: ImapServer, security: str = "none"
) -> None:
    with db.unit_of_work() as session:
        mail_settings.save(
            session,
            settings=settings,
            changes=MailSettingsIn.model_validate(
                {
                    "imap_host": "127.0.0.1",
                    "imap_port": server.port,
                    "imap_username": server.user,
                    "imap_password": server.password,
                    "imap_security": security,  # "none" is allowed on loopback only
                }
            ),
        )


def test_the_imap_job_does_nothing_while_no_mailbox_is_set_up(
    store: tuple[Database, Settings, int],
) -> None:
    db, settings, _ = store
    assert mail_jobs.read_mailbox(settings, db) is None
    with db.sessions() as session:
        assert settings_store.get(session, mail_jobs.STATE_KEY) is None


def test_the_imap_job_logs_new_mail_once_and_leaves_it_unread(
    store: tuple[Database, Settings, int], imap_server: ImapServer
) -> None:
    db, settings, buyer_id = store
    _configure(db, settings, imap_server)
    imap_server.deliver(
        _mail("Xiaoming <XIAOMING@example.com>", "Where is my order", "<a-1@example.com>"),
        _mail("spam@nowhere.example", "Cheap watches", "<s-1@nowhere.example>"),
    )

    first = mail_jobs.read_mailbox(settings, db)
    second = mail_jobs.read_mailbox(settings, db)
    imap_server.deliver(_mail("xiaoming@example.com", "Found it", "<a-2@example.com>"))
    third = mail_jobs.read_mailbox(settings, db)

    assert first == ImportResult(read=2, matched=1, logged=1, duplicates=0, unmatched=1)
    assert second == ImportResult(read=0, matched=0, logged=0, duplicates=0, unmatched=0)
    assert third == ImportResult(read=1, matched=1, logged=1, duplicates=0, unmatched=0)
    with db.sessions() as session:
        logged = email_interactions(session, buyer_id)
        assert [(i.subject, i.direction, i.source, i.user_id) for i in logged] == [
            ("Where is my order", "inbound", "email_in", None),
            ("Found it", "inbound", "email_in", None),
        ]
        assert logged[0].notes == "Where is my order, in plain text."
    assert imap_server.unseen() == 3  # read with BODY.PEEK: nobody's mail is marked seen


def test_a_renumbered_folder_is_read_again_without_logging_anything_twice(
    store: tuple[Database, Settings, int], imap_server: ImapServer
) -> None:
    db, settings, buyer_id = store
    _configure(db, settings, imap_server)
    imap_server.deliver(_mail("xiaoming@example.com", "Hello", "<h-1@example.com>"))
    mail_jobs.read_mailbox(settings, db)
    with db.unit_of_work() as session:  # as after the server rebuilt the folder
        state = settings_store.get(session, mail_jobs.STATE_KEY)
        assert state is not None
        settings_store.put(
            session, mail_jobs.STATE_KEY, {**state, "uidvalidity": 1, "last_uid": 10**6}
        )

    again = mail_jobs.read_mailbox(settings, db)

    assert again == ImportResult(read=1, matched=1, logged=0, duplicates=1, unmatched=0)
    with db.sessions() as session:
        assert len(email_interactions(session, buyer_id)) == 1


def test_a_wrong_mailbox_password_is_an_error_of_the_job_not_a_silent_success(
    store: tuple[Database, Settings, int], imap_server: ImapServer
) -> None:
    db, settings, _ = store
    imap_server.password = "not-the-password"
    _configure(db, settings, imap_server)
    with pytest.raises(mail_jobs.MailboxError):
        mail_jobs.read_mailbox(settings, db)


def test_the_imap_job_reads_over_starttls_and_checks_the_servers_certificate(
    store: tuple[Database, Settings, int],
    imap_tls_server: tuple[ImapServer, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, settings, buyer_id = store
    server, certificate = imap_tls_server
    _configure(db, settings, server, security="starttls")
    server.deliver(_mail("xiaoming@example.com", "Over TLS", "<tls-1@example.com>"))

    # a certificate nobody vouches for is refused before the password is sent
    with pytest.raises(mail_jobs.MailboxError, match="CERTIFICATE_VERIFY_FAILED"):
        mail_jobs.read_mailbox(settings, db)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the site's CA, trusted
    result = mail_jobs.read_mailbox(settings, db)

    assert result == ImportResult(read=1, matched=1, logged=1, duplicates=0, unmatched=0)
    with db.sessions() as session:
        assert [i.subject for i in email_interactions(session, buyer_id)] == ["Over TLS"]


def test_a_backlog_is_read_in_batches_within_one_run(
    store: tuple[Database, Settings, int],
    imap_server: ImapServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, settings, buyer_id = store
    monkeypatch.setattr(mail_jobs, "BATCH", 2)
    _configure(db, settings, imap_server)
    imap_server.deliver(
        *(_mail("xiaoming@example.com", f"Mail {n}", f"<b-{n}@example.com>") for n in range(5))
    )

    result = mail_jobs.read_mailbox(settings, db)

    assert result == ImportResult(read=5, matched=5, logged=5, duplicates=0, unmatched=0)
    with db.sessions() as session:
        assert len(email_interactions(session, buyer_id)) == 5
        imports = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "import", AuditEntry.entity_type == "interaction"
            )
        ).all()
        assert [a.changes["read"] for a in imports] == [2, 2, 1]  # one per batch
    assert mail_jobs.read_mailbox(settings, db) == ImportResult(
        read=0, matched=0, logged=0, duplicates=0, unmatched=0
    )
    with db.sessions() as session:  # an idle run leaves the audit log alone
        assert (
            session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "import"))
            == 3
        )
