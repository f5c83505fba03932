"""Reading the admin's IMAP mailbox every five minutes and logging its new mail to customers.

The mailbox is opened read-only and messages are fetched with ``BODY.PEEK[]``, so reading them
here marks nothing as seen for the people who use the same mailbox. What is new is decided by
UID: the highest UID imported is kept in ``app_settings`` (``mail.imap_state``) with the
folder's UIDVALIDITY; when the server renumbers the folder (another UIDVALIDITY) the whole
folder is read again, and the unique (customer, Message-ID) keeps that from logging anything
twice. Messages are read ``BATCH`` at a time, each batch committed with its UID, so a large
backlog is worked off in steps and a failure loses no more than one batch's progress.
Nothing happens while no mailbox is set up.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from dataclasses import dataclass

from guanxi import settings_store
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.interactions.mail import admin_settings as mail_settings
from guanxi.interactions.mail import inbound as mail_inbound
from guanxi.interactions.mail.admin_settings import ImapSettings
from guanxi.interactions.mail.schemas import ImportResult
from guanxi.jobs import JobContext, periodic

log = logging.getLogger("guanxi.interactions.mail")
STATE_KEY = "mail.imap_state"
BATCH = 50  # whole messages, attachments included, are held in memory per batch
RUN_BATCHES = 40
TIMEOUT_SECONDS = 30


class MailboxError(Exception):
    """The IMAP server could not be reached, refused the login or the folder."""


@dataclass(frozen=True)
class Fetched:
    uidvalidity: int
    messages: list[tuple[int, bytes]]  # (UID, the raw message), in UID order


@periodic(minute="*/5")
def read_mailbox_job(ctx: JobContext) -> None:
    result = read_mailbox(ctx.settings, ctx.db)
    if result is not None:
        log.info("mailbox read: %s", result)


def read_mailbox(settings: Settings, db: Database) -> ImportResult | None:
    """Import the mailbox's new messages, ``BATCH`` at a time and at most ``RUN_BATCHES``
    batches per run; None when no mailbox is set up."""
    total = ImportResult(read=0, matched=0, logged=0, duplicates=0, unmatched=0)
    for _ in range(RUN_BATCHES):
        batch = _read_batch(settings, db)
        if batch is None:
            return None
        result, fetched = batch
        total = ImportResult(
            **{
                name: getattr(total, name) + getattr(result, name)
                for name in ImportResult.model_fields
            }
        )
        if fetched < BATCH:
            break
    return total


def _read_batch(settings: Settings, db: Database) -> tuple[ImportResult, int] | None:
    """One batch: fetch, import and remember the newest UID, in one unit of work."""
    with db.sessions() as session:
        config = mail_settings.imap(session)
        state = settings_store.get(session, STATE_KEY) or {}
    if config is None:
        return None
    mailbox = f"{config.username}@{config.host}:{config.port}/{config.folder}"
    if state.get("mailbox") != mailbox:
        state = {}  # another mailbox or folder than last time: its UIDs start afresh
    last_uid = int(state.get("last_uid", 0))
    fetched = fetch_new(config, after_uid=last_uid, uidvalidity=state.get("uidvalidity"))
    if fetched.uidvalidity != state.get("uidvalidity"):
        last_uid = 0
    messages = [mail_inbound.parse_message(raw) for _, raw in fetched.messages]
    result = ImportResult(read=0, matched=0, logged=0, duplicates=0, unmatched=0)
    with db.unit_of_work() as session:
        if messages:  # a run that finds nothing new leaves no audit record behind
            result = mail_inbound.import_messages(
                session,
                actor=None,
                settings=settings,
                messages=messages,
                source=f"imap://{config.host}/{config.folder}",
            )
        remembered = {
            "mailbox": mailbox,
            "uidvalidity": fetched.uidvalidity,
            "last_uid": max([last_uid, *(uid for uid, _ in fetched.messages)]),
        }
        if remembered != state:
            settings_store.put(session, STATE_KEY, remembered)
    return result, len(fetched.messages)


def fetch_new(config: ImapSettings, *, after_uid: int, uidvalidity: object) -> Fetched:
    """The messages with a UID above ``after_uid`` (all of them when the folder's UIDVALIDITY
    is not ``uidvalidity``), at most ``BATCH``, without marking them seen."""
    try:
        with _connect(config) as imap:
            imap.login(config.username, config.password)
            kind, _ = imap.select(_quoted(config.folder), readonly=True)
            if kind != "OK":
                raise MailboxError(f"the folder {config.folder!r} cannot be opened")
            current = int((imap.response("UIDVALIDITY")[1] or [b"0"])[0] or 0)
            start = after_uid if current == uidvalidity else 0
            kind, found = imap.uid("SEARCH", f"UID {start + 1}:*")
            if kind != "OK":
                raise MailboxError("the server refused the search")
            # "n:*" always names the newest message, even when its UID is below n
            uids = sorted(int(u) for u in b" ".join(d or b"" for d in found).split())
            uids = [u for u in uids if u > start][:BATCH]
            messages = [(uid, _fetch(imap, uid)) for uid in uids]
            return Fetched(current, [(uid, raw) for uid, raw in messages if raw])
    except (imaplib.IMAP4.error, OSError) as exc:
        raise MailboxError(f"reading {config.host}/{config.folder} failed: {exc}") from exc


def _connect(config: ImapSettings) -> imaplib.IMAP4:
    if config.security == "ssl":
        return imaplib.IMAP4_SSL(
            config.host,
            config.port,
            ssl_context=ssl.create_default_context(),
            timeout=TIMEOUT_SECONDS,
        )
    imap = imaplib.IMAP4(config.host, config.port, timeout=TIMEOUT_SECONDS)
    if config.security == "starttls":
        imap.starttls(ssl_context=ssl.create_default_context())
    elif not mail_settings.loopback(config.host):
        # the settings form refuses this; a hand-edited setting must not leak the password
        imap.logout()
        raise MailboxError("refusing to log in to a remote IMAP server without TLS")
    return imap


def _fetch(imap: imaplib.IMAP4, uid: int) -> bytes:
    kind, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if kind != "OK":
        return b""
    # the answer is [(b"1 (UID 7 BODY[] {123}", b"<message>"), b")"]
    for item in data:
        if isinstance(item, tuple):
            return bytes(item[1])
    return b""


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
