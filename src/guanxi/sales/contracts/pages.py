"""Contract pages: the filtered list, the record with its renewal chain, the create, edit,
renew and terminate forms, and the statistics page. Every write goes through the contract
service (which checks visibility, versions and the status rules)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import select

from guanxi.auth.models import User
from guanxi.auth.visibility import reachable_users
from guanxi.customers.models import Customer
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_
from guanxi.sales.contracts import lifecycle, service, stats
from guanxi.sales.contracts.schemas import (
    ContractCreate,
    ContractRenew,
    ContractTerminate,
    ContractUpdate,
)
from guanxi.sales.contracts.status import STATUSES
from guanxi.sales.labels import CONTRACT_STATUS_LABELS
from guanxi.sales.models import Contract
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
EXPIRING_CHOICES = (30, 60, 90)
# text fields an edit may empty; other blank fields mean "not given"
CLEARABLE = ("our_party", "counterparty_signatory", "notes")
FORM_FIELDS = (
    "number",
    "title",
    "customer_id",
    "our_party",
    "counterparty_signatory",
    "amount",
    "currency",
    "start_date",
    "end_date",
    "signed_on",
    "warning_days",
    "owner_id",
    "notes",
)


def _owners(session: DbSession, actor: User, current: int | None) -> list[User]:
    users = reachable_users(session, actor) if actor.can("contracts", "manage") else [actor]
    if current is not None and all(u.id != current for u in users):
        owner = session.get(User, current)
        if owner is not None:
            users.append(owner)
    return users


# ---------------------------------------------------------------- list


@router.get("/sales/contracts", response_class=HTMLResponse)
def contract_list(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "read")],
    status: str = "",
    q: str = "",
    expiring: str = "",
    customer_id: str = "",
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Filters live in the URL, so a filtered list is a link to share."""
    within = int(expiring) if expiring.isdigit() else None
    customer = int(customer_id) if customer_id.isdigit() else None
    page = service.list_contracts(
        session=session,
        actor=actor,
        settings=settings,
        status=status if status in STATUSES else None,
        customer_id=customer,
        expiring_within=within,
        q=q,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    filters = {"status": status, "q": q, "expiring": expiring, "customer_id": customer_id}
    kept = {k: v for k, v in filters.items() if v}
    next_url = None
    if page.next_cursor:
        next_url = "/sales/contracts?" + urlencode({**kept, "cursor": page.next_cursor})
    customer_ids = {c.customer_id for c in page.items}
    names = {c.id: c.name for c in _customers(session, customer_ids)}
    return render(
        request,
        "sales/contract_list.html",
        {
            "contracts": page.items,
            "customer_names": names,
            "values": filters,
            "filtered": bool(kept),
            "status_labels": CONTRACT_STATUS_LABELS,
            "expiring_choices": EXPIRING_CHOICES,
            "next_url": next_url,
            "first_url": ("/sales/contracts?" + urlencode(kept)) if cursor else None,
        },
    )


def _customers(session: DbSession, ids: set[int]) -> list[Customer]:
    if not ids:
        return []
    return list(session.scalars(select(Customer).where(Customer.id.in_(ids))))


# ---------------------------------------------------------------- statistics


@router.get("/sales/contracts/stats", response_class=HTMLResponse)
def contract_stats_page(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "read")],
    period_from: Annotated[str, Query(alias="from")] = "",
    period_to: Annotated[str, Query(alias="to")] = "",
) -> HTMLResponse:
    figures = stats.contract_stats(
        session=session,
        actor=actor,
        settings=settings,
        period_from=_day(period_from),
        period_to=_day(period_to),
    )
    widest = max([f.value for f in figures.by_status] + [f.value for f in figures.expiring])
    return render(
        request,
        "sales/contract_stats.html",
        {
            "stats": figures,
            "widest": widest or 1,
            "status_labels": CONTRACT_STATUS_LABELS,
        },
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


# ---------------------------------------------------------------- record


@router.get("/sales/contracts/{contract_id:int}", response_class=HTMLResponse)
def contract_record(
    contract_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "read")],
) -> HTMLResponse:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    previous = session.get(Contract, contract.renewed_from_id) if contract.renewed_from_id else None
    following = service.renewed_by(session, contract)
    owner = session.get(User, contract.owner_id) if contract.owner_id else None
    return render(
        request,
        "sales/contract_detail.html",
        {
            "contract": contract,
            "read": service.to_read(session, contract, settings),
            "previous": previous,
            "following": following,
            "owner": owner,
            "status_labels": CONTRACT_STATUS_LABELS,
            "may_renew": contract.status in ("active", "expiring", "expired") and not following,
        },
    )


@router.post("/sales/contracts/{contract_id:int}/activate")
def contract_activate(
    contract_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("contracts", "update")],
) -> Response:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    version = str(data.get("version", ""))
    lifecycle.activate(
        session=session,
        actor=actor,
        settings=settings,
        contract=contract,
        expected_version=int(version) if version.isdigit() else None,
    )
    return redirect(
        request,
        f"/sales/contracts/{contract.id}",
        flash=N_("Contract {number} activated."),
        number=contract.number,
    )


# ---------------------------------------------------------------- create and edit


def _form(
    request: Request,
    session: DbSession,
    actor: User,
    contract: Contract | None,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    customer_id = str(values.get("customer_id", ""))
    customer = session.get(Customer, int(customer_id)) if customer_id.isdigit() else None
    return render(
        request,
        "sales/contract_form.html",
        {
            "contract": contract,
            "values": values,
            "customer_name": customer.name if customer is not None else "",
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "owners": _owners(session, actor, contract.owner_id if contract else None),
        },
        status_code=422 if invalid else 200,
    )


def _values(contract: Contract) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = getattr(contract, name)
        values[name] = "" if value is None else str(value)
    values["version"] = contract.version
    return values


@router.get("/sales/contracts/new", response_class=HTMLResponse)
def contract_new(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "create")],
    customer_id: str = "",
) -> HTMLResponse:
    values = {"customer_id": customer_id, "currency": settings.currency, "owner_id": actor.id}
    return _form(request, session, actor, None, values)


@router.post("/sales/contracts/new")
def contract_create(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("contracts", "create")],
) -> Response:
    try:
        contract_in = parse(ContractCreate, data)
        with refusals(session):
            contract = service.create(
                session=session, actor=actor, settings=settings, contract_in=contract_in
            )
    except FormInvalid as invalid:
        return _form(request, session, actor, None, data, invalid)
    return redirect(
        request,
        f"/sales/contracts/{contract.id}",
        flash=N_("Contract {number} created."),
        number=contract.number,
    )


@router.get("/sales/contracts/{contract_id:int}/edit", response_class=HTMLResponse)
def contract_edit(
    contract_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("contracts", "update")],
) -> HTMLResponse:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    return _form(request, session, actor, contract, _values(contract))


@router.post("/sales/contracts/{contract_id:int}/edit")
def contract_update(
    contract_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("contracts", "update")],
) -> Response:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    values = dict(data)
    version = str(data.pop("version", ""))
    try:
        contract_in = parse(ContractUpdate, data)
        for name in CLEARABLE:
            if name in data and not str(data[name]).strip():
                setattr(contract_in, name, "")
        if "warning_days" in data and not str(data["warning_days"]).strip():
            contract_in.warning_days = None  # blank: back to the company default
        with refusals(session):
            service.update(
                session=session,
                actor=actor,
                settings=settings,
                contract=contract,
                contract_in=contract_in,
                expected_version=int(version) if version.isdigit() else None,
            )
    except FormInvalid as invalid:
        return _form(request, session, actor, contract, values, invalid)
    return redirect(
        request,
        f"/sales/contracts/{contract.id}",
        flash=N_("Contract {number} saved."),
        number=contract.number,
    )


# ---------------------------------------------------------------- renew and terminate


def _action_form(
    request: Request,
    template: str,
    contract: Contract,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        template,
        {
            "contract": contract,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/sales/contracts/{contract_id:int}/renew", response_class=HTMLResponse)
def contract_renew_form(
    contract_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("contracts", "create")],
) -> HTMLResponse:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    start = contract.end_date.fromordinal(contract.end_date.toordinal() + 1)
    end = start + (contract.end_date - contract.start_date)
    values = {
        "title": contract.title,
        "amount": str(contract.amount),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "version": contract.version,
    }
    return _action_form(request, "sales/contract_renew.html", contract, values)


@router.post("/sales/contracts/{contract_id:int}/renew")
def contract_renew(
    contract_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("contracts", "create")],
) -> Response:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    return _act(request, session, settings, actor, contract, data, renew=True)


@router.get("/sales/contracts/{contract_id:int}/terminate", response_class=HTMLResponse)
def contract_terminate_form(
    contract_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "update")],
) -> HTMLResponse:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    values = {
        "terminated_on": service.today_in(settings).isoformat(),
        "reason": "",
        "version": contract.version,
    }
    return _action_form(request, "sales/contract_terminate.html", contract, values)


@router.post("/sales/contracts/{contract_id:int}/terminate")
def contract_terminate(
    contract_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("contracts", "update")],
) -> Response:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    return _act(request, session, settings, actor, contract, data, renew=False)


def _act(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: User,
    contract: Contract,
    data: dict[str, Any],
    *,
    renew: bool,
) -> Response:
    values = dict(data)
    version = str(data.pop("version", ""))
    expected = int(version) if version.isdigit() else None
    template = "sales/contract_renew.html" if renew else "sales/contract_terminate.html"
    try:
        schema: type[BaseModel] = ContractRenew if renew else ContractTerminate
        parsed = parse(schema, data)
        with refusals(session):
            if isinstance(parsed, ContractRenew):
                if not actor.can("contracts", "update"):
                    raise FormInvalid({}, i18n.gettext(N_("Your role may not change contracts.")))
                target = lifecycle.renew(
                    session=session,
                    actor=actor,
                    settings=settings,
                    contract=contract,
                    contract_in=parsed,
                    expected_version=expected,
                )
                flash = N_("Contract {number} renewed.")
            else:
                assert isinstance(parsed, ContractTerminate)
                target = lifecycle.terminate(
                    session=session,
                    actor=actor,
                    settings=settings,
                    contract=contract,
                    terminate_in=parsed,
                    expected_version=expected,
                )
                flash = N_("Contract {number} terminated.")
    except FormInvalid as invalid:
        return _action_form(request, template, contract, values, invalid)
    return redirect(request, f"/sales/contracts/{target.id}", flash=flash, number=contract.number)
