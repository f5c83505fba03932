"""Shared helpers for the e-mail tests: customers with addresses and contacts made through the
customer services, consent recorded through the ledger, and the process settings pointed at a
real SMTP server on loopback."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers import consent, contacts
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import ConsentIn, ContactCreate, CustomerCreate
from guanxi.interactions.models import Interaction
from tests.mail_server import Inbox

DATA = Path(__file__).parent / "data"


def customer(
    session: Session,
    owner: User,
    name: str = "王小明",
    *,
    emails: list[str] | None = None,
    kind: str = "person",
    **fields: object,
) -> Customer:
    made = customer_service.create(
        session=session,
        actor=owner,
        customer_in=CustomerCreate.model_validate(
            {"name": name, "kind": kind, "emails": emails or [], **fields}
        ),
    )
    session.flush()
    return made


def contact(session: Session, owner: User, organisation: Customer, name: str, email: str) -> int:
    made = contacts.create(
        session=session,
        actor=owner,
        contact_in=ContactCreate(organisation_id=organisation.id, name=name, email=email),
    )
    session.flush()
    return made.id


def set_consent(session: Session, customer_id: int, *, granted: bool) -> None:
    found = session.get(Customer, customer_id)
    assert found is not None
    consent.record(
        session=session,
        actor=None,
        customer=found,
        consent_in=ConsentIn(purpose="marketing_email", granted=granted, source="test"),
    )
    session.flush()


def smtp_settings(settings: Settings, inbox: Inbox) -> Settings:
    """The process settings sending to the loopback server."""
    return settings.model_copy(
        update={"smtp_host": inbox.host, "smtp_port": inbox.port, "mail_from": "crm@guanxi.test"}
    )


def email_interactions(session: Session, customer_id: int | None = None) -> list[Interaction]:
    stmt = select(Interaction).where(Interaction.channel == "email").order_by(Interaction.id)
    if customer_id is not None:
        stmt = stmt.where(Interaction.customer_id == customer_id)
    return list(session.scalars(stmt))


def interaction_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Interaction.id))) or 0)
