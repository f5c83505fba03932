"""Use cases for contracts (合同): create, change, delete, read and list (activation,
termination and renewal are in ``lifecycle``).

Every read and list goes through record visibility: a contract the actor may not see is "not
found". The status is never typed in: ``status.status_for`` derives it from the dates once a
contract is signed, and only activate, terminate and renew move it by hand. Webhook events are
written in the same unit of work, so a change that is rolled back never announces itself.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import ensure_may_hand_to, get_visible, restrict
from guanxi.concurrency import ensure_version
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.pagination import DEFAULT_LIMIT, Page, paginate
from guanxi.sales import numbering
from guanxi.sales.contracts import status as rules
from guanxi.sales.contracts.schemas import (
    ContractCreate,
    ContractRead,
    ContractUpdate,
)
from guanxi.sales.models import Contract, Opportunity
from guanxi.webhooks import events

# fields copied from the form as they are (the rest need checks or derive the status)
_PLAIN = (
    "title",
    "our_party",
    "counterparty_signatory",
    "amount",
    "currency",
    "start_date",
    "end_date",
    "signed_on",
    "warning_days",
    "notes",
)


def today_in(settings: Settings) -> date:
    """Today's date where the company is: contracts end at midnight local time, not UTC."""
    return datetime.now(settings.zone).date()


# ---------------------------------------------------------------- reading


def get(*, session: Session, actor: User, contract_id: int) -> Contract:
    """A contract the actor may see; deleted and hidden ones are not found."""
    contract = get_visible(session, Contract, contract_id, actor)
    if contract.deleted_at is not None:
        raise NotFound(N_("Record {id} was not found."), id=contract_id)
    return contract


def visible_contracts(actor: User) -> Any:
    """A select of the live (not deleted) contracts the actor may see; lists and stats use it."""
    return restrict(select(Contract).where(Contract.deleted_at.is_(None)), Contract, actor)


def list_contracts(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    status: str | None = None,
    customer_id: int | None = None,
    owner_id: int | None = None,
    expiring_within: int | None = None,
    q: str = "",
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    today: date | None = None,
) -> Page[Contract]:
    """Contracts the actor may see, newest first. ``expiring_within=N`` keeps the running
    (active or expiring) contracts that end within the next N days, today included."""
    stmt = visible_contracts(actor)
    if status:
        stmt = stmt.where(Contract.status == status)
    if customer_id is not None:
        stmt = stmt.where(Contract.customer_id == customer_id)
    if owner_id is not None:
        stmt = stmt.where(Contract.owner_id == owner_id)
    if expiring_within is not None:
        start = today or today_in(settings)
        stmt = stmt.where(
            Contract.status.in_(("active", "expiring")),
            Contract.end_date >= start,
            Contract.end_date <= start + timedelta(days=expiring_within),
        )
    fragment = q.strip()
    if fragment:
        pattern = f"%{_escape_like(fragment)}%"
        stmt = stmt.where(
            or_(
                Contract.number.ilike(pattern, escape="\\"),
                Contract.title.ilike(pattern, escape="\\"),
            )
        )
    return paginate(session, stmt, Contract.id, limit=limit, cursor=cursor, descending=True)


def list_for_customer(
    *, session: Session, actor: User, customer_id: int, limit: int = 10
) -> list[Contract]:
    """The customer's contracts the actor may see, latest end date first (customer 360 page)."""
    stmt = (
        visible_contracts(actor)
        .where(Contract.customer_id == customer_id)
        .order_by(Contract.end_date.desc(), Contract.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def renewed_by(session: Session, contract: Contract) -> Contract | None:
    """The contract that renewed this one, if any (deleted renewals included: the link stays)."""
    return session.scalar(select(Contract).where(Contract.renewed_from_id == contract.id).limit(1))


def to_read(session: Session, contract: Contract, settings: Settings) -> ContractRead:
    customer = session.get(Customer, contract.customer_id)
    successor = renewed_by(session, contract)
    return ContractRead(
        id=contract.id,
        number=contract.number,
        title=contract.title,
        customer_id=contract.customer_id,
        customer_name=customer.name if customer is not None else "",
        our_party=contract.our_party,
        counterparty_signatory=contract.counterparty_signatory,
        amount=contract.amount,
        currency=contract.currency,
        start_date=contract.start_date,
        end_date=contract.end_date,
        signed_on=contract.signed_on,
        status=contract.status,
        warning_days=contract.warning_days,
        effective_warning_days=rules.effective_warning_days(
            contract, settings.contract_warning_days
        ),
        renewed_from_id=contract.renewed_from_id,
        renewed_by_id=successor.id if successor is not None else None,
        opportunity_id=contract.opportunity_id,
        terminated_on=contract.terminated_on,
        termination_reason=contract.termination_reason,
        notes=contract.notes,
        owner_id=contract.owner_id,
        team_id=contract.team_id,
        version=contract.version,
        created_at=contract.created_at,
        updated_at=contract.updated_at,
    )


def event_data(contract: Contract) -> dict[str, Any]:
    """What webhook receivers get about a contract."""
    return {
        "id": contract.id,
        "number": contract.number,
        "title": contract.title,
        "customer_id": contract.customer_id,
        "amount": contract.amount,
        "currency": contract.currency,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "status": contract.status,
        "owner_id": contract.owner_id,
        "renewed_from_id": contract.renewed_from_id,
    }


# ---------------------------------------------------------------- writing


def create(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    contract_in: ContractCreate,
    today: date | None = None,
) -> Contract:
    contract = Contract(owner_id=actor.id, team_id=actor.team_id, status="draft")
    given = set(ContractCreate.model_fields)
    _apply(session, actor, contract, contract_in, given)
    contract.number = number_for(session, contract_in.number, None, today or today_in(settings))
    if contract.signed_on is not None:
        contract.status = "active"  # signed: from now on the calendar decides
    session.add(contract)
    refresh_status(session, contract, settings, today=today, announce=False)
    session.flush()
    events.emit(session, "contract.created", event_data(contract))
    return contract


def update(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    contract: Contract,
    contract_in: ContractUpdate,
    expected_version: int | None,
    today: date | None = None,
) -> Contract:
    ensure_version(contract.version, expected_version)
    given = {name for name in contract_in.model_fields_set if name != "number"}
    # a field sent as null clears only what may be empty; required ones keep their value
    required = {"title", "customer_id", "amount", "currency", "start_date", "end_date"}
    given -= {name for name in required if getattr(contract_in, name) is None}
    _apply(session, actor, contract, contract_in, given)
    if contract.end_date < contract.start_date:
        raise InvalidInput(
            N_("The end date must not be before the start date."),
            errors=[FieldError("end_date", N_("Before the start date."))],
        )
    if contract_in.number and contract_in.number != contract.number:
        contract.number = number_for(session, contract_in.number, contract.id, date.today())
    refresh_status(session, contract, settings, today=today)
    session.flush()
    events.emit(session, "contract.updated", event_data(contract))
    return contract


def delete(
    *, session: Session, actor: User, contract: Contract, expected_version: int | None
) -> None:
    """Move a contract to the bin (soft delete): lists, stats and the job skip it."""
    ensure_version(contract.version, expected_version)
    contract.deleted_at = utcnow()
    session.flush()


def refresh_status(
    session: Session,
    contract: Contract,
    settings: Settings,
    *,
    today: date | None = None,
    announce: bool = True,
) -> bool:
    """Bring the contract's status in line with its dates; True when it changed."""
    wanted = rules.status_for(contract, today or today_in(settings), settings.contract_warning_days)
    if wanted == contract.status:
        return False
    if announce:
        set_status(session, contract, wanted)
    else:
        contract.status = wanted
    return True


def set_status(session: Session, contract: Contract, new_status: str) -> None:
    old = contract.status
    if old == new_status:
        return
    contract.status = new_status
    session.flush()
    events.emit(
        session,
        "contract.status_changed",
        {**event_data(contract), "previous_status": old},
    )


def _apply(
    session: Session,
    actor: User,
    contract: Contract,
    fields: ContractCreate | ContractUpdate,
    given: set[str],
) -> None:
    for name in _PLAIN:
        if name in given:
            value = getattr(fields, name)
            if name in ("title", "our_party", "counterparty_signatory", "notes"):
                value = (value or "").strip()
            setattr(contract, name, value)
    if "customer_id" in given and fields.customer_id is not None:
        try:
            customer_service.get(session=session, actor=actor, customer_id=fields.customer_id)
        except NotFound:
            raise InvalidInput(
                N_("Choose a customer you can see."),
                errors=[FieldError("customer_id", N_("Unknown customer."))],
            ) from None
        contract.customer_id = fields.customer_id
    if "opportunity_id" in given:
        if fields.opportunity_id is not None:
            _ensure_opportunity(session, actor, fields.opportunity_id)
        contract.opportunity_id = fields.opportunity_id
    if "owner_id" in given and fields.owner_id is not None:
        owner = session.get(User, fields.owner_id)
        if owner is None or not owner.is_active:
            raise InvalidInput(
                N_("The owner must be an active user."),
                errors=[FieldError("owner_id", N_("Unknown or disabled user."))],
            )
        ensure_may_hand_to(session, actor, owner)
        contract.owner_id = owner.id
        contract.team_id = owner.team_id


def _ensure_opportunity(session: Session, actor: User, opportunity_id: int) -> None:
    try:
        get_visible(session, Opportunity, opportunity_id, actor)
    except NotFound:
        raise InvalidInput(
            N_("Choose an opportunity you can see."),
            errors=[FieldError("opportunity_id", N_("Unknown opportunity."))],
        ) from None


def number_for(session: Session, wanted: str | None, own_id: int | None, today: date) -> str:
    """The number asked for if it is free, else the next ``HT-<year>-<serial>``."""
    if wanted:
        number = wanted.strip()
        holder = session.scalar(select(Contract.id).where(Contract.number == number))
        if holder is not None and holder != own_id:
            raise Conflict(
                N_("Another contract already has the number {number}."),
                errors=[FieldError("number", N_("This value is taken."))],
                number=number,
            )
        return number
    prefix = numbering.contract_prefix(today.year)
    # serials are zero-padded, so the text maximum is the numeric one; two people saving at
    # the same instant may pick the same one, and the unique key then refuses the second (409)
    last = session.scalar(
        select(func.max(Contract.number)).where(Contract.number.like(f"{prefix}%"))
    )
    serial = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return numbering.contract_number(today.year, serial)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
