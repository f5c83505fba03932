"""A contract's life after it is written: activation (signing), termination, and renewal into
a new contract linked to the old one. Each moves the status by hand; the calendar moves it
otherwise (``status.status_for``, applied by the service and the periodic job)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.concurrency import ensure_version
from guanxi.config import Settings
from guanxi.errors import N_, Conflict, FieldError, InvalidInput
from guanxi.sales.contracts import service
from guanxi.sales.contracts import status as rules
from guanxi.sales.contracts.schemas import ContractRenew, ContractTerminate
from guanxi.sales.models import Contract
from guanxi.webhooks import events


def activate(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    contract: Contract,
    signed_on: date | None = None,
    expected_version: int | None = None,
    today: date | None = None,
) -> Contract:
    """Mark a draft signed; from then on its dates decide whether it is active or expiring."""
    ensure_version(contract.version, expected_version)
    if contract.status != "draft":
        raise Conflict(N_("Only a draft contract can be activated."))
    day = today or service.today_in(settings)
    contract.signed_on = signed_on or contract.signed_on or day
    service.set_status(session, contract, "active")
    service.refresh_status(session, contract, settings, today=day)
    session.flush()
    return contract


def terminate(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    contract: Contract,
    terminate_in: ContractTerminate,
    expected_version: int | None = None,
    today: date | None = None,
) -> Contract:
    """End a contract early, or close it at its end without renewal; the status is final."""
    ensure_version(contract.version, expected_version)
    if contract.status in ("terminated", "renewed"):
        raise Conflict(N_("This contract is already closed ({status})."), status=contract.status)
    contract.terminated_on = terminate_in.terminated_on or today or service.today_in(settings)
    contract.termination_reason = terminate_in.reason.strip()
    service.set_status(session, contract, "terminated")
    session.flush()
    return contract


def renew(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    contract: Contract,
    contract_in: ContractRenew,
    expected_version: int | None = None,
    today: date | None = None,
) -> Contract:
    """Make the contract that follows ``contract`` and mark the old one ``renewed``.

    A contract is renewed once: a second renewal is refused (also when two people try at the
    same time: the old contract's version check lets only one of them through). The new
    contract keeps the customer, parties, owner and amount unless told otherwise, and by
    default starts the day after the old one ends and runs as long.
    """
    ensure_version(contract.version, expected_version)
    if contract.status not in rules.LIVE or service.renewed_by(session, contract) is not None:
        raise Conflict(
            N_("Only a signed contract that is not closed can be renewed, and only once.")
        )
    start = contract_in.start_date or contract.end_date + timedelta(days=1)
    if start <= contract.start_date:
        raise InvalidInput(
            N_("The renewal must start after the old contract started."),
            errors=[FieldError("start_date", N_("Too early."))],
        )
    end = contract_in.end_date or start + (contract.end_date - contract.start_date)
    if end < start:
        raise InvalidInput(
            N_("The end date must not be before the start date."),
            errors=[FieldError("end_date", N_("Before the start date."))],
        )
    day = today or service.today_in(settings)
    successor = Contract(
        number=service.number_for(session, contract_in.number, None, day),
        title=contract_in.title or contract.title,
        customer_id=contract.customer_id,
        our_party=contract.our_party,
        counterparty_signatory=contract.counterparty_signatory,
        amount=contract.amount if contract_in.amount is None else contract_in.amount,
        currency=contract.currency,
        start_date=start,
        end_date=end,
        signed_on=contract_in.signed_on,
        status="active" if contract_in.signed_on else "draft",
        warning_days=(
            contract_in.warning_days
            if "warning_days" in contract_in.model_fields_set
            else contract.warning_days
        ),
        renewed_from_id=contract.id,
        opportunity_id=contract.opportunity_id,
        notes=contract.notes if contract_in.notes is None else contract_in.notes,
        owner_id=contract.owner_id,
        team_id=contract.team_id,
    )
    session.add(successor)
    service.refresh_status(session, successor, settings, today=day, announce=False)
    service.set_status(session, contract, "renewed")
    session.flush()
    events.emit(session, "contract.created", service.event_data(successor))
    events.emit(
        session,
        "contract.renewed",
        {"contract": service.event_data(contract), "renewal": service.event_data(successor)},
    )
    return successor
