"""E-mail API: send to a customer, upload a mailbox to match, templates with the customer's
fields, and the admin's SMTP and IMAP settings (passwords are written, never read back)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, SettingsDep, require
from guanxi.interactions.mail import admin_settings as mail_settings
from guanxi.interactions.mail import inbound as mail_inbound
from guanxi.interactions.mail import service as mail_service
from guanxi.interactions.mail import templates as mail_templates
from guanxi.interactions.mail.schemas import (
    EmailSend,
    EmailSent,
    ImportResult,
    MailPreview,
    MailSettingsIn,
    MailSettingsRead,
    MailTemplateIn,
    MailTemplateRead,
    MailTemplateUpdate,
)

router = APIRouter(prefix="/api/v1/interactions", tags=["e-mail"])


@router.post("/emails", status_code=status.HTTP_201_CREATED)
def send_email(
    body: EmailSend,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "create")],
) -> EmailSent:
    """Send an e-mail to a customer through SMTP and log it as an outbound interaction.

    409 when the customer has withdrawn consent to e-mail, 503 when e-mail is not set up, 502
    when the mail server fails; in each case nothing is sent and nothing is logged."""
    interaction = mail_service.send_to_customer(
        session, actor=actor, settings=settings, **body.model_dump()
    )
    return EmailSent(
        interaction_id=interaction.id,
        customer_id=interaction.customer_id,
        message_id=interaction.message_id or "",
        to=interaction.email_address,
        subject=interaction.subject,
        occurred_at=interaction.occurred_at,
    )


@router.post("/emails/import")
def import_emails(
    file: Annotated[UploadFile, File(description="One message (.eml) or a mailbox (.mbox)")],
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "create")],
) -> ImportResult:
    """Match each message to the customers whose (or whose contacts') address it names and log
    it; messages logged before (same Message-ID) count as duplicates."""
    name = file.filename or "upload"
    messages = mail_inbound.parse_upload(
        filename=name, data=file.file.read(mail_inbound.MAX_UPLOAD_BYTES + 1)
    )
    return mail_inbound.import_messages(
        session, actor=actor, settings=settings, messages=messages, source=name
    )


@router.get("/mail-templates")
def list_mail_templates(
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
    active: bool | None = None,
) -> list[MailTemplateRead]:
    """Every template by name; ``active=true`` only those offered when composing."""
    templates = mail_templates.list_templates(session, active_only=bool(active))
    return [MailTemplateRead.model_validate(t) for t in templates]


@router.post("/mail-templates", status_code=status.HTTP_201_CREATED)
def create_mail_template(
    body: MailTemplateIn,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("interactions", "create")],
) -> MailTemplateRead:
    """A template; 422 naming subject or body for an unknown field or code templates may not
    run. Fields: ``mail_templates.TEMPLATE_FIELDS``."""
    template = mail_templates.create_template(session, template_in=body)
    response.headers["ETag"] = etag(template.version)
    return MailTemplateRead.model_validate(template)


@router.get("/mail-templates/{template_id:int}")
def read_mail_template(
    template_id: int,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
) -> MailTemplateRead:
    template = mail_templates.get_template(session, template_id=template_id)
    response.headers["ETag"] = etag(template.version)
    return MailTemplateRead.model_validate(template)


@router.patch("/mail-templates/{template_id:int}")
def update_mail_template(
    template_id: int,
    body: MailTemplateUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("interactions", "update")],
) -> MailTemplateRead:
    template = mail_templates.get_template(session, template_id=template_id)
    template = mail_templates.update_template(
        session, template=template, changes=body, expected_version=expected_version
    )
    response.headers["ETag"] = etag(template.version)
    return MailTemplateRead.model_validate(template)


@router.delete("/mail-templates/{template_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_mail_template(
    template_id: int,
    session: DbSession,
    actor: Annotated[User, require("interactions", "delete")],
) -> Response:
    template = mail_templates.get_template(session, template_id=template_id)
    mail_templates.delete_template(session, template=template)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/mail-templates/{template_id:int}/preview")
def preview_mail_template(
    template_id: int,
    session: DbSession,
    actor: Annotated[User, require("interactions", "create")],
    customer_id: Annotated[int, Query()],
    contact_id: Annotated[int | None, Query()] = None,
) -> MailPreview:
    """The template rendered for a customer the caller may see (404 otherwise)."""
    return mail_service.preview(
        session,
        actor=actor,
        template_id=template_id,
        customer_id=customer_id,
        contact_id=contact_id,
    )


@router.get("/mail-settings")
def read_mail_settings(
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("settings", "manage")],
) -> MailSettingsRead:
    """The SMTP and IMAP settings; passwords only as ``*_password_set``."""
    return mail_settings.read(session, settings)


@router.put("/mail-settings")
def update_mail_settings(
    body: MailSettingsIn,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("settings", "manage")],
) -> MailSettingsRead:
    """Replace the settings; a password left null is kept, an empty one cleared."""
    return mail_settings.save(session, settings=settings, changes=body)
