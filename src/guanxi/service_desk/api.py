"""Tickets over JSON: /api/v1/tickets.

``POST /api/v1/tickets`` with ``{"customer_id", "kind", "subject", "priority"}`` (plus the
optional fields of ``TicketCreate``) is a fixed interface scripts rely on: it answers 201 with
the ticket, whose ``id``, ``status``, ``first_response_due``, ``resolution_due`` and ``station``
(``{"id", "name"}`` or null) are always there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, SettingsDep, require
from guanxi.pagination import PageOut
from guanxi.service_desk import attachments, service
from guanxi.service_desk.models import Ticket, TicketAttachment, TicketMessage
from guanxi.service_desk.schemas import (
    AttachmentRead,
    ChangeRead,
    MergeIn,
    MessageRead,
    NoteIn,
    ReplyIn,
    StatusChange,
    TicketCreate,
    TicketKind,
    TicketPriority,
    TicketRead,
    TicketStatus,
    TicketUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["tickets"])
Limit = Annotated[int, Query(ge=1, le=500)]
Reader = Annotated[User, require("tickets", "read")]
Worker = Annotated[User, require("tickets", "update")]


def _answer(response: Response, session: Session, ticket: Ticket) -> TicketRead:
    read = service.to_read(session, ticket)
    response.headers["ETag"] = etag(read.version)
    return read


@router.get("/tickets")
def list_tickets(
    session: DbSession,
    actor: Reader,
    status: TicketStatus | None = None,
    queue_id: int | None = None,
    assignee_id: int | None = None,
    customer_id: int | None = None,
    kind: TicketKind | None = None,
    priority: TicketPriority | None = None,
    q: Annotated[
        str,
        Query(max_length=200, description="A fragment of the subject, or a ticket number (#123)"),
    ] = "",
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[TicketRead]:
    """Tickets the caller may see, newest first."""
    page = service.list_tickets(
        session=session,
        actor=actor,
        status=status,
        queue_id=queue_id,
        assignee_id=assignee_id,
        customer_id=customer_id,
        kind=kind,
        priority=priority,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[service.to_read(session, t) for t in page.items], next_cursor=page.next_cursor
    )


@router.post("/tickets", status_code=status.HTTP_201_CREATED)
def create_ticket(
    body: TicketCreate,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("tickets", "create")],
) -> TicketRead:
    """Open a ticket: routed, given its SLA due times and (for a service request) the nearest
    service station. 422 naming the field for bad input, 404 for a customer the caller may not
    see."""
    ticket = service.create_ticket(session, actor=actor, ticket_in=body, settings=settings)
    response.headers["Location"] = f"/api/v1/tickets/{ticket.id}"
    return _answer(response, session, ticket)


@router.get("/tickets/{ticket_id:int}")
def read_ticket(
    ticket_id: int, response: Response, session: DbSession, actor: Reader
) -> TicketRead:
    return _answer(response, session, service.get_visible_ticket(session, actor, ticket_id))


@router.patch("/tickets/{ticket_id:int}")
def update_ticket(
    ticket_id: int,
    body: TicketUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Worker,
) -> TicketRead:
    """Change the fields sent (send ``If-Match`` with the ETag to refuse a stale change: 412)."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    service.update_ticket(
        session, actor=actor, ticket=ticket, ticket_in=body, expected_version=expected_version
    )
    return _answer(response, session, ticket)


@router.post("/tickets/{ticket_id:int}/status")
def change_status(
    ticket_id: int,
    body: StatusChange,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Worker,
) -> TicketRead:
    """Move the ticket along new -> assigned -> in_progress -> waiting -> resolved -> closed;
    ``in_progress`` from resolved or closed reopens it. 409 for a move the flow refuses."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    service.change_status(
        session, actor=actor, ticket=ticket, status=body.status, expected_version=expected_version
    )
    return _answer(response, session, ticket)


@router.get("/tickets/{ticket_id:int}/messages")
def list_messages(ticket_id: int, session: DbSession, actor: Reader) -> list[MessageRead]:
    """Notes, replies and the customer's messages, oldest first."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    return [_message(m) for m in service.messages(session, ticket)]


@router.post("/tickets/{ticket_id:int}/notes", status_code=status.HTTP_201_CREATED)
def add_note(ticket_id: int, body: NoteIn, session: DbSession, actor: Worker) -> MessageRead:
    """An internal note; the customer never sees it."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    return _message(service.add_note(session, actor=actor, ticket=ticket, body=body.body))


@router.post("/tickets/{ticket_id:int}/replies", status_code=status.HTTP_201_CREATED)
def reply(
    ticket_id: int, body: ReplyIn, session: DbSession, settings: SettingsDep, actor: Worker
) -> MessageRead:
    """E-mail a reply to the customer and log it as an interaction (``interaction_id``). The
    touch centre's refusals apply: 409 consent withdrawn, 422 no or foreign address, 503 mail
    not set up, 502 the server failed; then nothing is sent or kept."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    message = service.reply(
        session,
        actor=actor,
        settings=settings,
        ticket=ticket,
        body=body.body,
        to=body.to,
        subject=body.subject,
    )
    return _message(message)


@router.get("/tickets/{ticket_id:int}/attachments")
def list_attachments(ticket_id: int, session: DbSession, actor: Reader) -> list[AttachmentRead]:
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    return [_attachment(a) for a in attachments.list_attachments(session, ticket)]


@router.post("/tickets/{ticket_id:int}/attachments", status_code=status.HTTP_201_CREATED)
def add_attachment(
    ticket_id: int,
    file: Annotated[UploadFile, File(description="The file (multipart/form-data)")],
    session: DbSession,
    settings: SettingsDep,
    actor: Worker,
) -> AttachmentRead:
    """Attach a file: at most ``ticket_attachment_max_bytes`` (10 MB by default), of a type
    read from its bytes (pictures, PDF, office documents, short videos, plain text); 422
    naming ``file`` otherwise. The answer carries the file's SHA-256."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    # read one byte past the limit: enough to refuse a larger file without reading all of it
    data = file.file.read(settings.ticket_attachment_max_bytes + 1)
    attachment = attachments.add_attachment(
        session, actor=actor, settings=settings, ticket=ticket, filename=file.filename, data=data
    )
    return _attachment(attachment)


@router.get("/tickets/{ticket_id:int}/attachments/{attachment_id:int}")
def download_attachment(
    ticket_id: int,
    attachment_id: int,
    session: DbSession,
    settings: SettingsDep,
    actor: Reader,
) -> FileResponse:
    """The file as it was sent, with its sniffed type (404 when the ticket is not visible)."""
    attachment, path = attachments.open_attachment(
        session, actor=actor, settings=settings, ticket_id=ticket_id, attachment_id=attachment_id
    )
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=attachment.filename,
        headers={"X-Content-Type-Options": "nosniff", "Digest": f"sha-256={attachment.sha256}"},
    )


@router.post("/tickets/{ticket_id:int}/merge")
def merge_ticket(
    ticket_id: int, body: MergeIn, response: Response, session: DbSession, actor: Worker
) -> TicketRead:
    """Merge this ticket (a duplicate) into ``into_id``, a ticket of the same customer: its
    messages and attachments move there and it is closed. Answers the ticket merged into."""
    duplicate = service.get_visible_ticket(session, actor, ticket_id)
    into = service.get_visible_ticket(session, actor, body.into_id)
    service.merge(session, actor=actor, duplicate=duplicate, into=into)
    return _answer(response, session, into)


@router.get("/tickets/{ticket_id:int}/history")
def ticket_history(ticket_id: int, session: DbSession, actor: Reader) -> list[ChangeRead]:
    """Every change to the ticket, oldest first, with who made it and when."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    return service.history(session, ticket)


def _message(message: TicketMessage) -> MessageRead:
    return MessageRead(
        id=message.id,
        ticket_id=message.ticket_id,
        kind=message.kind,
        body=message.body,
        author_id=message.author_id,
        interaction_id=message.interaction_id,
        created_at=message.created_at,
    )


def _attachment(attachment: TicketAttachment) -> AttachmentRead:
    return AttachmentRead(
        id=attachment.id,
        ticket_id=attachment.ticket_id,
        message_id=attachment.message_id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        uploaded_by_id=attachment.uploaded_by_id,
        created_at=attachment.created_at,
    )
