"""Pages for duplicates and merging, and for a customer's personal-data rights."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth.models import User
from guanxi.customers import dedupe, merge, privacy
from guanxi.customers import service as customer_service
from guanxi.customers.labels import FIELD_LABELS
from guanxi.customers.models import Customer
from guanxi.customers.search import CustomerFilter
from guanxi.deps import DbSession, require
from guanxi.errors import N_, InvalidInput
from guanxi.web.forms import FormData, FormInvalid, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

REASON_LABELS = {
    "phone": N_("same phone"),
    "email": N_("same e-mail"),
    "name_city": N_("same name and city"),
    "similar_name": N_("similar name in the same city"),
}


def _shown(session: DbSession, field: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    if field == "id_number_encrypted":
        return "••••••"  # encrypted: only its presence is shown
    if field == "owner_id":
        owner = session.get(User, value)
        return owner.label if owner else str(value)
    return str(value)


@router.get("/customers/duplicates", response_class=HTMLResponse)
def duplicates(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
    customer_id: int | None = None,
) -> HTMLResponse:
    pairs = dedupe.find(session=session, actor=actor, customer_id=customer_id, limit=200)
    ids = {i for p in pairs for i in (p.first_id, p.second_id)}
    customers = {
        c.id: c
        for c in customer_service.list_customers(
            session=session, actor=actor, spec=CustomerFilter(ids=list(ids) or [0]), limit=500
        ).items
    }
    return render(
        request,
        "customers/duplicates.html",
        {
            "pairs": [
                (p, customers[p.first_id], customers[p.second_id])
                for p in pairs
                if p.first_id in customers and p.second_id in customers
            ],
            "reason_labels": REASON_LABELS,
            "focus": customer_id,
        },
    )


def _merge_page(
    request: Request,
    session: DbSession,
    survivor: Customer,
    other: Customer | None,
    candidates: list[Customer] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    rows = []
    if other is not None:
        for row in merge.comparison(survivor, other):
            rows.append(
                {
                    **row,
                    "label": FIELD_LABELS[row["field"]],
                    "survivor_shown": _shown(session, row["field"], row["survivor"]),
                    "other_shown": _shown(session, row["field"], row["other"]),
                }
            )
    return render(
        request,
        "customers/merge.html",
        {
            "survivor": survivor,
            "other": other,
            "rows": rows,
            "candidates": candidates or [],
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/customers/merge", response_class=HTMLResponse)
def merge_form(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "delete")],
    a: int,
    b: int | None = None,
    q: str = "",
) -> HTMLResponse:
    """Side by side: pick, per field, which record's value the merged customer keeps."""
    survivor = customer_service.get(session=session, actor=actor, customer_id=a)
    other = customer_service.get(session=session, actor=actor, customer_id=b) if b else None
    candidates = []
    if other is None:
        spec = (
            CustomerFilter(q=q)
            if q
            else CustomerFilter(
                ids=[
                    p.second_id if p.first_id == a else p.first_id
                    for p in dedupe.find(session=session, actor=actor, customer_id=a)
                ]
                or [0]
            )
        )
        candidates = [
            c
            for c in customer_service.list_customers(
                session=session, actor=actor, spec=spec, limit=20
            ).items
            if c.id != a
        ]
    return _merge_page(request, session, survivor, other, candidates)


@router.post("/customers/merge")
def merge_submit(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("customers", "delete")],
) -> Response:
    try:
        survivor_id, other_id = int(data.get("survivor_id", "")), int(data.get("other_id", ""))
    except ValueError as exc:
        raise InvalidInput(N_("Choose two different customers to merge.")) from exc
    choices = {
        name: value
        for name in merge.CHOOSABLE
        if (value := data.get(f"choice.{name}")) in ("survivor", "other")
    }
    try:
        with refusals(session):
            survivor = merge.merge(
                session=session,
                actor=actor,
                survivor_id=survivor_id,
                other_id=other_id,
                choices=choices,
                survivor_version=_int(data.get("survivor_version")),
                other_version=_int(data.get("other_version")),
            )
    except FormInvalid as invalid:
        first = customer_service.get(session=session, actor=actor, customer_id=survivor_id)
        second = customer_service.get(session=session, actor=actor, customer_id=other_id)
        return _merge_page(request, session, first, second, invalid=invalid)
    return redirect(request, f"/customers/{survivor.id}", flash=N_("The customers are merged."))


def _int(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


@router.get("/customers/{customer_id:int}/personal-data")
def personal_data_download(
    customer_id: int,
    session: DbSession,
    actor: Annotated[User, require("customers", "export")],
) -> Response:
    """Everything held about the customer, as a JSON file to hand to them."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    document = privacy.personal_data(session=session, actor=actor, customer=customer)
    filename = f"customer-{customer_id}-personal-data.json"
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/customers/{customer_id:int}/erase")
def erase(
    customer_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "delete")],
) -> Response:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    try:
        with refusals(session):
            privacy.erase(session=session, actor=actor, customer=customer)
    except FormInvalid as invalid:
        return redirect(request, f"/customers/{customer_id}", flash=invalid.message or "")
    return redirect(
        request, f"/customers/{customer_id}", flash=N_("The customer's personal data is erased.")
    )
