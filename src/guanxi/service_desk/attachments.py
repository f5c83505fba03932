"""Files on tickets: photos of a fault, a scanned invoice, a PDF report.

A file's type is read from its first bytes (``filetype``'s signatures), never from its name or
the type the browser claims, and must be on ``ALLOWED``; plain text is accepted when it is valid
UTF-8. Files are stored once per content under ``<data_dir>/attachments/<aa>/<sha256>`` (the
same photo sent twice is kept once) and the row keeps the checksum, so a download can be
checked against it. Reading a file needs the ticket to be visible.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Final

import filetype
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.db import utcnow
from guanxi.errors import N_, FieldError, InvalidInput, NotFound
from guanxi.service_desk.models import Ticket, TicketAttachment
from guanxi.service_desk.service import get_visible_ticket

# types a customer or an agent sends about a problem: pictures, documents, short videos
ALLOWED: Final[frozenset[str]] = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "video/mp4",
        "video/quicktime",
        "text/plain",
    }
)
FOLDER: Final = "attachments"


def sniff(data: bytes) -> str | None:
    """The content type the bytes show, or None when they show none that is known."""
    kind = filetype.guess(data[:8192])
    if kind is not None:
        return str(kind.mime)
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain"


def clean_name(filename: str | None) -> str:
    """The file's own name, without any folder a browser or a client sent along."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name.strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return (name or "attachment")[:255]


def path_for(settings: Settings, sha256: str) -> Path:
    return settings.data_dir / FOLDER / sha256[:2] / sha256


def add_attachment(
    session: Session,
    *,
    actor: User | None,
    settings: Settings,
    ticket: Ticket,
    filename: str | None,
    data: bytes,
    message_id: int | None = None,
) -> TicketAttachment:
    """Check and store a file on a ticket. 422 naming ``file`` for an empty file, one over
    ``settings.ticket_attachment_max_bytes`` or of a type not on ``ALLOWED``."""
    limit = settings.ticket_attachment_max_bytes
    if not data:
        raise _refused(N_("The file is empty."))
    if len(data) > limit:
        raise InvalidInput(
            N_("The file is larger than {limit} MB; nothing was saved."),
            errors=[FieldError("file", N_("Too large."))],
            limit=f"{limit / (1024 * 1024):g}",
        )
    content_type = sniff(data)
    if content_type not in ALLOWED:
        raise _refused(
            N_(
                "Only pictures, PDF, office documents, short videos and plain text can be "
                "attached; this file is not one of them."
            )
        )
    digest = hashlib.sha256(data).hexdigest()
    _store(path_for(settings, digest), data)
    attachment = TicketAttachment(
        ticket_id=ticket.id,
        message_id=message_id,
        filename=clean_name(filename),
        content_type=content_type,
        size=len(data),
        sha256=digest,
        uploaded_by_id=actor.id if actor is not None else None,
        created_at=utcnow(),
    )
    session.add(attachment)
    ticket.updated_at = utcnow()
    session.flush()
    return attachment


def _refused(message: str) -> InvalidInput:
    return InvalidInput(message, errors=[FieldError("file", message)])


def _store(path: Path, data: bytes) -> None:
    """Write the file once: content addressed, so an existing file already holds these bytes.
    Written to a temporary name and renamed, so a reader never sees half a file."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def list_attachments(session: Session, ticket: Ticket) -> list[TicketAttachment]:
    return list(
        session.scalars(
            select(TicketAttachment)
            .where(TicketAttachment.ticket_id == ticket.id)
            .order_by(TicketAttachment.id)
        )
    )


def open_attachment(
    session: Session, *, actor: User, settings: Settings, ticket_id: int, attachment_id: int
) -> tuple[TicketAttachment, Path]:
    """An attachment of a ticket the actor may see and where its bytes are; 404 otherwise."""
    ticket = get_visible_ticket(session, actor, ticket_id)
    attachment = session.get(TicketAttachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise NotFound(N_("Record {id} was not found."), id=attachment_id)
    path = path_for(settings, attachment.sha256)
    if not path.is_file():
        raise NotFound(N_("The file of attachment {id} is missing."), id=attachment_id)
    return attachment, path


def checksum(path: Path) -> str:
    """The SHA-256 of a stored file, read in blocks (a check that the bytes are intact)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
