"""What the customer database's fields and choice values are called on pages, in exports and in
import mappings: the one place for these labels, marked for translation."""

from __future__ import annotations

from guanxi.errors import N_

# Customer fields, in the order forms and exports show them.
FIELD_LABELS: dict[str, str] = {
    "kind": N_("Kind"),
    "name": N_("Name"),
    "customer_type": N_("Customer type"),
    "gender": N_("Gender"),
    "birthday": N_("Birthday"),
    "occupation": N_("Occupation"),
    "industry": N_("Industry"),
    "company": N_("Company"),
    "region": N_("Province / region"),
    "city": N_("City"),
    "district": N_("District"),
    "address": N_("Address"),
    "postal_code": N_("Postal code"),
    "source_channel": N_("Source"),
    "preferred_channel": N_("Preferred channel"),
    "preferred_contact_time": N_("Preferred contact time"),
    "interests": N_("Interests"),
    "notes": N_("Notes"),
    "risk_level": N_("Risk level"),
    "credit_note": N_("Credit note"),
    "external_id": N_("External id"),
    "owner_id": N_("Owner"),
    "team_id": N_("Team"),
    "id_number": N_("ID number"),
    "id_number_encrypted": N_("ID number"),
    "phones": N_("Phones"),
    "emails": N_("E-mails"),
    "family": N_("Family members"),
    "tags": N_("Tags"),
    "custom_fields": N_("Custom fields"),
    "created_at": N_("Created on"),
    "updated_at": N_("Last changed"),
}

CONTACT_FIELD_LABELS: dict[str, str] = {
    "name": N_("Name"),
    "title": N_("Title"),
    "purchase_role": N_("Role in the purchase"),
    "phone": N_("Phone"),
    "email": N_("E-mail"),
    "notes": N_("Notes"),
    "external_id": N_("External id"),
}

# Choice values as people read them (exports write these, so imports read them back too).
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "kind": {"person": N_("Person"), "organisation": N_("Organisation")},
    "customer_type": {
        "direct": N_("Direct"),
        "distributor": N_("Distributor"),
        "reseller": N_("Reseller"),
        "agent": N_("Agent"),
    },
    "gender": {"male": N_("Male"), "female": N_("Female"), "other": N_("Other")},
    "preferred_channel": {
        "phone": N_("Phone"),
        "sms": N_("SMS"),
        "email": N_("E-mail"),
        "wechat": N_("WeChat"),
        "visit": N_("Visit"),
        "mail": N_("Mail"),
    },
    "risk_level": {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")},
    "purchase_role": {
        "decision_maker": N_("Decision maker"),
        "influencer": N_("Influencer"),
        "user": N_("End user"),
        "buyer": N_("Buyer"),
        "gatekeeper": N_("Gatekeeper"),
        "other": N_("Other"),
    },
    "consent_purpose": {
        "marketing_email": N_("Marketing e-mail"),
        "marketing_sms": N_("Marketing SMS"),
        "marketing_phone": N_("Marketing calls"),
        "profiling": N_("Profiling and analytics"),
    },
    # labels offered for phones and e-mails; any other label already stored is shown as is
    "phone_label": {
        "mobile": N_("Mobile"),
        "work": N_("Work"),
        "home": N_("Home"),
        "fax": N_("Fax"),
        "other": N_("Other"),
    },
    "email_label": {"work": N_("Work"), "personal": N_("Personal"), "other": N_("Other")},
    # where a consent entry came from; sources not listed here are shown as recorded
    "consent_source": {
        "staff": N_("recorded on the customer page"),
        "erasure": N_("personal data erasure"),
        "web_form": N_("web form"),
        "unsubscribe_link": N_("unsubscribe link"),
        "portal": N_("customer portal"),
    },
    "field_type": {
        "text": N_("Text"),
        "number": N_("Number"),
        "date": N_("Date"),
        "choice": N_("Choice"),
    },
}


def choice_label(field: str, code: str | None) -> str:
    """The untranslated label of a choice value (translate it with ``_()``); unknown codes as is."""
    if code is None:
        return ""
    return CHOICE_LABELS.get(field, {}).get(code, code)
