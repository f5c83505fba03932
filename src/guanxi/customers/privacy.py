"""Personal-data rights: everything held about a customer, machine-readable; and erasure that
anonymises their personal fields while aggregated business records (orders, tickets, counts by
city) stay.

Erasure also shreds the customer's audit key (audit/personal.py), so the personal values that
earlier changes wrote into the append-only audit log become unreadable too, while the chain
still verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from guanxi import crypto
from guanxi.audit import personal as personal_log
from guanxi.audit import service as audit_service
from guanxi.audit import tracking as audit
from guanxi.auth.models import User
from guanxi.customers import consent, extensions
from guanxi.customers import service as customer_service
from guanxi.customers.models import Contact, Customer
from guanxi.customers.schemas import CONSENT_PURPOSES, ConsentIn
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict

# (session, customer) -> JSON-able data a domain holds about the customer
Section = Callable[[Session, Customer], Any]
_sections: dict[str, Section] = {}
# (session, customer) -> None: blanks what a domain wrote about the customer, on erasure
Eraser = Callable[[Session, Customer], object]
_erasers: dict[str, Eraser] = {}

# personal fields blanked by erasure; kind, customer type, region, city, industry, tags, owner
# and every business record stay, so reports and totals do not change
_BLANKED = (
    "gender",
    "birthday",
    "occupation",
    "district",
    "address",
    "postal_code",
    "preferred_channel",
    "preferred_contact_time",
    "interests",
    "notes",
    "credit_note",
    "risk_level",
    "external_id",
    "id_number_encrypted",
    "id_number_index",
)


def register_section(name: str, section: Section) -> None:
    """Let a domain add what it holds about a customer to the personal-data export."""
    _sections[name] = section


def register_eraser(name: str, eraser: Eraser) -> None:
    """Let a domain blank the personal text it holds about a customer when they are erased
    (notes of interactions, for instance); it runs in the erasure's unit of work."""
    _erasers[name] = eraser


def _profile(session: Session, customer: Customer) -> dict[str, Any]:
    data = customer_service.to_read(customer).model_dump(mode="json")
    data.pop("id_number_masked", None)
    if customer.id_number_encrypted:
        data["id_number"] = crypto.cipher().decrypt(customer.id_number_encrypted)
    return data


def _contacts(session: Session, customer: Customer) -> list[dict[str, Any]]:
    rows = session.scalars(select(Contact).where(Contact.organisation_id == customer.id))
    return [
        {
            "id": c.id,
            "name": c.name,
            "title": c.title,
            "phone": c.phone,
            "email": c.email,
            "purchase_role": c.purchase_role,
            "notes": c.notes,
        }
        for c in rows
    ]


def _consents(session: Session, customer: Customer) -> list[dict[str, Any]]:
    return [
        {
            "purpose": e.purpose,
            "granted": e.granted,
            "source": e.source,
            "note": e.note,
            "recorded_by": e.recorded_by_name,
            "recorded_at": e.recorded_at.isoformat(),
        }
        for e in consent.history(session=session, customer_id=customer.id)
    ]


def _history(session: Session, customer: Customer) -> list[dict[str, Any]]:
    entries = audit_service.list_entries(
        session=session, entity_type="customer", entity_id=str(customer.id), limit=500
    ).items
    return [
        {
            "at": e.occurred_at.isoformat(),
            "by": e.actor_username,
            "action": e.action,
            "changes": audit_service.readable_changes(session=session, entry=e),
        }
        for e in entries
    ]


register_section("profile", _profile)
register_section("contacts", _contacts)
register_section("consents", _consents)
register_section("change_history", _history)


def personal_data(*, session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    """Everything held about the customer, as one JSON document; the export itself is audited."""
    extensions.load()
    document = {
        "customer_id": customer.id,
        "exported_at": utcnow().isoformat(),
        **{name: section(session, customer) for name, section in _sections.items()},
    }
    audit.record(
        session, "export.personal_data", "customer", customer.id, {"sections": sorted(_sections)}
    )
    return document


def erase(*, session: Session, actor: User, customer: Customer) -> Customer:
    """Anonymise the customer's personal fields; withdraw every consent; shred their audit key."""
    if customer.erased_at is not None:
        raise Conflict(N_("This customer's personal data has already been erased."))
    for name in _BLANKED:
        default = Customer.__table__.c[name].default
        setattr(customer, name, default.arg if default is not None else None)
    customer.name = f"#{customer.id}"
    if not customer.is_organisation:
        customer.company = ""
    customer.phones = []
    customer.emails = []
    customer.family = []
    customer.custom_fields = {}
    customer.erased_at = utcnow()
    customer_service.refresh_search_fields(customer)
    for contact in session.scalars(select(Contact).where(Contact.organisation_id == customer.id)):
        contact.name, contact.phone, contact.email, contact.notes = f"#{contact.id}", "", "", ""
        contact.custom_fields = {}
        contact.external_id = None
        session.flush()
        personal_log.shred(session, "contact", str(contact.id))
    session.flush()
    for purpose in CONSENT_PURPOSES:
        consent.record(
            session=session,
            actor=actor,
            customer=customer,
            consent_in=ConsentIn(purpose=purpose, granted=False, source="erasure"),
        )
    extensions.load()
    for eraser in _erasers.values():
        eraser(session, customer)
    personal_log.shred(session, "customer", str(customer.id))
    audit.record(
        session,
        "erase",
        "customer",
        customer.id,
        {
            "blanked": sorted((*_BLANKED, "name", "phones", "emails", "family")),
            "domains": sorted(_erasers),
        },
    )
    _compact_search_index(session)
    return customer


def _compact_search_index(session: Session) -> None:
    # SQLite's FTS5 keeps deleted terms in old segments until they merge; ask it to merge a
    # little now so the erased name and phone leave the index files soon
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("INSERT INTO customer_grams(customer_grams, rank) VALUES('merge', 16)")
        )
        session.execute(
            text("INSERT INTO customer_trigrams(customer_trigrams, rank) VALUES('merge', 16)")
        )
