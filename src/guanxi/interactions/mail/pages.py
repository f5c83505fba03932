"""E-mail pages: compose to a customer, templates, mailbox upload and the mail settings.

The compose page tells the user before they type when the customer has withdrawn consent to
e-mail or e-mail is not set up, and the send button is not offered then; the service refuses
all the same if a stale page is posted. A template is filled in server-side (the picker reloads
the page with the template rendered for the customer), so the page works without JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from guanxi import mail
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, GuanxiError
from guanxi.interactions.mail import admin_settings as mail_settings
from guanxi.interactions.mail import inbound as mail_inbound
from guanxi.interactions.mail import service as mail_service
from guanxi.interactions.mail import templates as mail_templates
from guanxi.interactions.mail.schemas import (
    EmailSend,
    MailSettingsIn,
    MailTemplateIn,
    MailTemplateUpdate,
)
from guanxi.interactions.models import MailTemplate
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse, service_error
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
SECURITY_LABELS = {
    "ssl": N_("SSL/TLS from the start (port 993)"),
    "starttls": N_("STARTTLS (port 143)"),
    "none": N_("None (only for a server on this machine)"),
}
FIELD_HELP = N_(
    "Subject and body may use these fields in double braces, like {{ customer.name }}, with "
    "simple conditions and filters; an unknown field is refused when the template is saved."
)


def _refused(session: Session, exc: GuanxiError) -> tuple[FormInvalid, int]:
    """A service refusal as form messages, with its status; the unit of work is undone."""
    session.rollback()
    return service_error(exc), exc.status


# ---------------------------------------------------------------- compose


def _compose(
    request: Request,
    session: Session,
    settings: Settings,
    actor: User,
    customer: Customer,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    withdrawn = mail_service.consent_withdrawn(session, customer_id=customer.id)
    enabled = mail.enabled(mail.effective_settings(session, settings))
    choices = mail_service.addresses(session, customer=customer)
    return render(
        request,
        "interactions/email_compose.html",
        {
            "tab": "interactions",
            "customer": customer,
            "addresses": [
                {"address": address, "contact": contact.name if contact else ""}
                for address, contact in choices
            ],
            "templates": mail_templates.list_templates(session, active_only=True),
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "withdrawn": withdrawn,
            "mail_enabled": enabled,
            "fields": mail_templates.TEMPLATE_FIELDS,
            "filters": mail_templates.SAFE_FILTERS,
            "field_help": FIELD_HELP,
        },
        status_code=status_code,
    )


@router.get("/interactions/email/new", response_class=HTMLResponse)
def compose_page(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "create")],
    customer_id: int,
    template_id: str = "",
) -> HTMLResponse:
    """The compose form; with ``template_id`` its subject and body are filled in, rendered for
    the customer."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    values: dict[str, Any] = {"customer_id": customer.id, "template_id": template_id}
    if not template_id.isdigit():
        return _compose(request, session, settings, actor, customer, values)
    try:
        filled = mail_service.preview(
            session,
            actor=actor,
            template_id=int(template_id),
            customer_id=customer.id,
            contact_id=None,
        )
    except GuanxiError as exc:
        refusal, status = _refused(session, exc)
        return _compose(request, session, settings, actor, customer, values, refusal, status)
    values |= {"subject": filled.subject, "body": filled.body}
    return _compose(request, session, settings, actor, customer, values)


@router.post("/interactions/email/new", response_model=None)
def compose_send(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("interactions", "create")],
) -> Response:
    customer_id = str(data.get("customer_id", ""))
    customer = customer_service.get(
        session=session, actor=actor, customer_id=int(customer_id) if customer_id.isdigit() else 0
    )
    fields = {k: data.get(k, "") for k in ("customer_id", "to", "subject", "body")}
    try:
        # the template was applied when the page was filled in; what is posted is what is sent
        email_in = parse(EmailSend, fields)
    except FormInvalid as invalid:
        return _compose(request, session, settings, actor, customer, data, invalid, 422)
    try:
        interaction = mail_service.send_to_customer(
            session, actor=actor, settings=settings, **email_in.model_dump()
        )
    except GuanxiError as exc:
        refusal, status = _refused(session, exc)
        return _compose(request, session, settings, actor, customer, data, refusal, status)
    return redirect(
        request,
        f"/customers/{customer.id}#interactions",
        flash=N_("E-mail sent to {address} and logged."),
        address=interaction.email_address,
    )


# ---------------------------------------------------------------- settings


def _admin(
    request: Request,
    session: Session,
    settings: Settings,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    stored = mail_settings.read(session, settings)
    return render(
        request,
        "interactions/mail_admin.html",
        {
            "stored": stored,
            "values": values if values is not None else stored.model_dump(),
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "security_labels": SECURITY_LABELS,
            "templates": mail_templates.list_templates(session),
            "process_smtp": settings.smtp_host,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/mail", response_class=HTMLResponse)
def mail_admin(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("settings", "manage")],
) -> HTMLResponse:
    return _admin(request, session, settings)


def _settings_form(data: dict[str, Any]) -> dict[str, Any]:
    """Form fields as the schema takes them: boxes are on or absent. A blank password is not
    given (the stored one is kept); its "remove" box clears it."""
    fields = {k: v for k, v in data.items() if not k.startswith("clear_")}
    for box in ("smtp_starttls", "smtp_ssl"):
        fields[box] = box in data
    return fields


@router.post("/admin/mail/settings", response_model=None)
def mail_settings_save(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("settings", "manage")],
) -> Response:
    # an emptied text field falls back to its default, which is "none" for hosts and names
    shown = {**data, "smtp_password": "", "imap_password": ""}
    try:
        changes = parse(MailSettingsIn, _settings_form(data))
        cleared = {k: "" for k in ("smtp_password", "imap_password") if data.get(f"clear_{k}")}
        changes = changes.model_copy(update=cleared)
        mail_settings.save(session, settings=settings, changes=changes)
    except FormInvalid as invalid:
        return _admin(request, session, settings, shown, invalid)
    except GuanxiError as exc:
        refusal, _ = _refused(session, exc)
        return _admin(request, session, settings, shown, refusal)
    return redirect(request, "/admin/mail", flash=N_("Mail settings saved."))


# ---------------------------------------------------------------- templates


@router.get("/admin/mail/templates", response_class=HTMLResponse)
def template_list(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
) -> HTMLResponse:
    return render(
        request,
        "interactions/mail_template_form.html",
        {"listing": True, "templates": mail_templates.list_templates(session)},
    )


def _template_form(
    request: Request,
    template: MailTemplate | None,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "interactions/mail_template_form.html",
        {
            "listing": False,
            "template": template,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "fields": mail_templates.TEMPLATE_FIELDS,
            "filters": mail_templates.SAFE_FILTERS,
            "field_help": FIELD_HELP,
        },
        status_code=status_code,
    )


@router.get("/admin/mail/templates/new", response_class=HTMLResponse)
def template_new(
    request: Request,
    actor: Annotated[User, require("interactions", "create")],
) -> HTMLResponse:
    return _template_form(request, None, {"is_active": True})


@router.post("/admin/mail/templates/new", response_model=None)
def template_create(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("interactions", "create")],
) -> Response:
    values = {**data, "is_active": "is_active" in data}
    try:
        template_in = parse(MailTemplateIn, values)
        template = mail_templates.create_template(session, template_in=template_in)
    except FormInvalid as invalid:
        return _template_form(request, None, values, invalid, 422)
    except GuanxiError as exc:
        refusal, status = _refused(session, exc)
        return _template_form(request, None, values, refusal, status)
    return redirect(
        request, "/admin/mail/templates", flash=N_("Template {name} saved."), name=template.name
    )


@router.get("/admin/mail/templates/{template_id:int}", response_class=HTMLResponse)
def template_edit(
    template_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("interactions", "update")],
) -> HTMLResponse:
    template = mail_templates.get_template(session, template_id=template_id)
    values = {
        "name": template.name,
        "subject": template.subject,
        "body": template.body,
        "is_active": template.is_active,
        "version": template.version,
    }
    return _template_form(request, template, values)


@router.post("/admin/mail/templates/{template_id:int}", response_model=None)
def template_update(
    template_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("interactions", "update")],
) -> Response:
    template = mail_templates.get_template(session, template_id=template_id)
    version = str(data.get("version", ""))
    values = {**data, "is_active": "is_active" in data}
    fields = {k: values.get(k, "") for k in ("name", "subject", "body", "is_active")}
    try:
        changes = parse(MailTemplateUpdate, fields)
        mail_templates.update_template(
            session,
            template=template,
            changes=changes,
            expected_version=int(version) if version.isdigit() else None,
        )
    except FormInvalid as invalid:
        return _template_form(request, template, values, invalid, 422)
    except GuanxiError as exc:
        refusal, status = _refused(session, exc)
        return _template_form(request, template, values, refusal, status)
    return redirect(
        request, "/admin/mail/templates", flash=N_("Template {name} saved."), name=template.name
    )


@router.post("/admin/mail/templates/{template_id:int}/delete", response_model=None)
def template_delete(
    template_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("interactions", "delete")],
) -> Response:
    template = mail_templates.get_template(session, template_id=template_id)
    name = template.name
    mail_templates.delete_template(session, template=template)
    return redirect(
        request, "/admin/mail/templates", flash=N_("Template {name} deleted."), name=name
    )


# ---------------------------------------------------------------- mailbox upload


@router.get("/admin/mail/import", response_class=HTMLResponse)
def import_page(
    request: Request,
    actor: Annotated[User, require("interactions", "create")],
) -> HTMLResponse:
    return render(request, "interactions/mail_import_result.html", {"result": None})


@router.post("/admin/mail/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "create")],
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    if file is None or not file.filename:
        message = i18n.gettext(N_("Choose an .eml or .mbox file."))
        return render(
            request,
            "interactions/mail_import_result.html",
            {"result": None, "message": message},
            status_code=422,
        )
    try:
        messages = mail_inbound.parse_upload(
            filename=file.filename, data=file.file.read(mail_inbound.MAX_UPLOAD_BYTES + 1)
        )
        result = mail_inbound.import_messages(
            session, actor=actor, settings=settings, messages=messages, source=file.filename
        )
    except GuanxiError as exc:
        refusal, status = _refused(session, exc)
        return render(
            request,
            "interactions/mail_import_result.html",
            {"result": None, "message": refusal.message, "filename": file.filename},
            status_code=status,
        )
    return render(
        request,
        "interactions/mail_import_result.html",
        {"result": result, "filename": file.filename},
    )
