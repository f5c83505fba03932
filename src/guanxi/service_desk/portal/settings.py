"""Which profile fields customers may change themselves in the portal: an administrator's choice,
kept in ``app_settings`` under ``portal`` as ``{"editable_fields": [...]}``.

Only fields from ``EDITABLE_CHOICES`` can be offered: contact details and preferences a customer
knows best. Their name, identifiers, owner, tags, notes and risk assessments stay with the staff.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from guanxi import settings_store
from guanxi.errors import N_, FieldError, InvalidInput

SETTINGS_KEY = "portal"
EDITABLE_CHOICES: tuple[str, ...] = (
    "phones",
    "emails",
    "gender",
    "birthday",
    "occupation",
    "company",
    "region",
    "city",
    "district",
    "address",
    "postal_code",
    "preferred_channel",
    "preferred_contact_time",
    "interests",
)
DEFAULT_EDITABLE: tuple[str, ...] = (
    "phones",
    "city",
    "district",
    "address",
    "postal_code",
    "preferred_channel",
    "preferred_contact_time",
)


class PortalSettings(BaseModel):
    """``GET`` / ``PUT /api/v1/portal/settings``."""

    editable_fields: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EDITABLE),
        description=f"Profile fields customers may change; any of {', '.join(EDITABLE_CHOICES)}",
    )


def load(session: Session) -> PortalSettings:
    stored: dict[str, Any] = settings_store.get(session, SETTINGS_KEY) or {}
    fields = stored.get("editable_fields")
    if not isinstance(fields, list):
        return PortalSettings()
    # a field withdrawn from the choices since it was stored is simply no longer offered
    return PortalSettings(editable_fields=[f for f in EDITABLE_CHOICES if f in fields])


def save(session: Session, settings_in: PortalSettings) -> PortalSettings:
    """Store the administrator's choice (audited as an ``app_setting`` change)."""
    unknown = [f for f in settings_in.editable_fields if f not in EDITABLE_CHOICES]
    if unknown:
        raise InvalidInput(
            N_("These fields cannot be offered in the portal: {fields}."),
            errors=[FieldError("editable_fields", N_("Choose among the offered fields."))],
            fields=", ".join(unknown),
        )
    chosen = [f for f in EDITABLE_CHOICES if f in settings_in.editable_fields]
    settings_store.put(session, SETTINGS_KEY, {"editable_fields": chosen})
    return PortalSettings(editable_fields=chosen)
