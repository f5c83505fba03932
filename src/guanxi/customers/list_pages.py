"""The customer list (客户列表): filters in the URL, sortable columns, keyset pages, bulk actions on
a selection, and the script behind the global search box."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.visibility import reachable_users
from guanxi.customers import normalize, tags
from guanxi.customers import service as customer_service
from guanxi.customers.labels import CHOICE_LABELS, choice_label
from guanxi.customers.search import CustomerFilter, describe_extra, filter_from_query
from guanxi.deps import DbSession, require
from guanxi.errors import N_, FieldError, GuanxiError, InvalidInput, PermissionDenied
from guanxi.web.forms import FormData, FormInvalid, refusals
from guanxi.web.templating import ENVIRONMENT, redirect, render

router = APIRouter(include_in_schema=False)
# phones are stored as E.164 and shown as people write them, on every customer page
ENVIRONMENT.filters["phone"] = normalize.display_phone

SORT_COLUMNS = ("name", "city", "created_at", "updated_at")
# a column's first click sorts names A→Z and dates newest first
FIRST_ORDER = {"name": "asc", "city": "asc", "created_at": "desc", "updated_at": "desc"}
PAGE_SIZE = 50
COUNT_CAP = 1_000  # beyond this the list says "more than": an exact count walks every match
MAX_PAGE_SIZE = 200
# URL parameters that choose the page and its order rather than which customers are listed
_NOT_FILTERS = frozenset({"cursor", "sort", "order", "limit"})
# filters the form has a field for; the others ride along as hidden fields
_FORM_FIELDS = frozenset({"q", "kind", "customer_type", "city", "tag", "owner_id"})
BULK_ACTIONS = {
    "tag": N_("Add tag"),
    "untag": N_("Remove tag"),
    "assign": N_("Assign to owner"),
}


def _filter_params(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k not in _NOT_FILTERS and v]


def _page_size(value: str | None) -> int:
    if not value:
        return PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise InvalidInput(
            N_("The limit must be between 1 and {max}."),
            errors=[FieldError("limit", N_("Must be a whole number."))],
            max=MAX_PAGE_SIZE,
        )
    return int(value)


def _sort(params: Any) -> tuple[str | None, str]:
    sort = params.get("sort") or None
    order = params.get("order") or (FIRST_ORDER.get(sort, "desc") if sort else "desc")
    if sort is not None and sort not in SORT_COLUMNS:
        raise InvalidInput(
            N_("Customers cannot be sorted by {field}."),
            errors=[FieldError("sort", N_("Choose one of the offered values."))],
            field=sort,
        )
    if order not in ("asc", "desc"):
        raise InvalidInput(
            N_("The order must be asc or desc."),
            errors=[FieldError("order", N_("Choose one of the offered values."))],
        )
    return sort, order


def _sort_links(
    filters: list[tuple[str, str]], sort: str | None, order: str, limit: str | None
) -> dict[str, str]:
    """Per sortable column, the list URL that sorts by it (flipping the order if it already
    does); the filters stay, the cursor goes."""
    extra = [("limit", limit)] if limit else []
    links = {}
    for column in SORT_COLUMNS:
        flipped = "desc" if order == "asc" else "asc"
        wanted = flipped if column == sort else FIRST_ORDER[column]
        query = [*filters, ("sort", column), ("order", wanted), *extra]
        links[column] = "/customers?" + urlencode(query)
    return links


@router.get("/customers", response_class=HTMLResponse)
def customer_list(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
) -> HTMLResponse:
    """A shareable, filtered list: ``?q=张&city=上海&tag=VIP&owner_id=3&sort=name&order=asc``."""
    params = request.query_params
    filters = _filter_params(request)
    customers: list[Any] = []
    total = 0
    next_url = None
    sort: str | None = None
    order = "desc"
    spec = CustomerFilter()
    message = None
    try:
        with refusals(session):
            spec = filter_from_query(params)
            sort, order = _sort(params)
            limit = _page_size(params.get("limit"))
            page = customer_service.list_customers(
                session=session,
                actor=actor,
                spec=spec,
                sort=sort,
                descending=order == "desc",
                limit=limit,
                cursor=params.get("cursor") or None,
            )
            total = customer_service.count_customers(
                session=session, actor=actor, spec=spec, cap=COUNT_CAP
            )
    except FormInvalid as invalid:
        message = invalid.message
    else:
        customers = list(page.items)
        if page.next_cursor:
            kept = [(k, v) for k, v in params.multi_items() if k != "cursor" and v]
            next_url = "/customers?" + urlencode([*kept, ("cursor", page.next_cursor)])
    owners = reachable_users(session, actor)
    owner_labels = {u.id: u.label for u in owners}
    missing = {c.owner_id for c in customers if c.owner_id and c.owner_id not in owner_labels}
    for owner_id in missing:  # owners outside the filter's choices (a shared record's owner)
        owner_labels[owner_id] = auth_service.get_user(session=session, user_id=owner_id).label
    back = urlencode([(k, v) for k, v in params.multi_items() if k != "cursor" and v])
    chips = [
        (words, "/customers?" + urlencode([(k, v) for k, v in filters if k not in dropped]))
        for words, dropped in describe_extra(session, spec)
    ]
    return render(
        request,
        "customers/list.html",
        {
            "customers": customers,
            "total": total,
            "count_cap": COUNT_CAP,
            "next_url": next_url,
            "first_url": "/customers?" + back if params.get("cursor") else None,
            "spec": spec,
            "values": {k: params.get(k, "") for k in ("q", "kind", "customer_type", "city")},
            "selected_tags": params.getlist("tag"),
            "owner_value": params.get("owner_id", ""),
            "all_tags": [t for t, _ in tags.list_tags(session=session)],
            "owners": owners,
            "owner_labels": owner_labels,
            "kinds": CHOICE_LABELS["kind"],
            "customer_types": CHOICE_LABELS["customer_type"],
            "choice_label": choice_label,
            "sort": sort,
            "order": order,
            "sort_links": _sort_links(filters, sort, order, params.get("limit")),
            "export_url": "/customers/export" + ("?" + urlencode(filters) if filters else ""),
            "back": back,
            "bulk_actions": {
                k: v
                for k, v in BULK_ACTIONS.items()
                if k != "assign" or actor.can("customers", "manage")
            },
            "message": message,
            "filtered": bool(filters),
            "chips": chips,
            "hidden_filters": [(k, v) for k, v in filters if k not in _FORM_FIELDS],
        },
        status_code=400 if message else 200,
    )


def _back_url(query: str) -> str:
    """The list the selection was made on; only its query string is taken from the form."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=False) if k != "cursor"]
    return "/customers" + ("?" + urlencode(pairs) if pairs else "")


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value] if value else []
    return [int(v) for v in values if str(v).isdigit()]


@router.post("/customers/bulk")
def bulk_action(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("customers", "update")],
) -> Response:
    """Tag, untag or reassign the selected customers; ids the user may not see are skipped."""
    back = _back_url(str(data.get("back", "")))
    action = str(data.get("action", ""))
    ids = _ids(data.get("ids"))
    if action not in BULK_ACTIONS:
        return redirect(request, back, flash=N_("Choose what to do with the selection."))
    if not ids:
        return redirect(request, back, flash=N_("Select at least one customer first."))
    if action == "assign" and not actor.can("customers", "manage"):
        raise PermissionDenied(
            N_("Your role may not {action} {resource}."), action="manage", resource="customers"
        )
    owner = str(data.get("owner_id", ""))
    name = str(data.get("tag", "")).strip()
    if action == "assign" and not owner.isdigit():
        return redirect(request, back, flash=N_("Choose the new owner."))
    if action != "assign" and not name:
        return redirect(request, back, flash=N_("Name the tag to add or remove."))
    try:
        if action == "assign":
            changed = customer_service.bulk_assign(
                session=session, actor=actor, customer_ids=ids, owner_id=int(owner)
            )
        else:
            changed = customer_service.bulk_tag(
                session=session,
                actor=actor,
                customer_ids=ids,
                tag_names=[name],
                remove=action == "untag",
            )
    except GuanxiError as refused:
        # shown on the list, translated there like any notice
        session.rollback()
        return redirect(request, back, flash=refused.template, **refused.params)
    return redirect(
        request,
        back,
        flash=N_("Customers changed: {changed} of {selected} selected."),
        changed=changed,
        selected=len(ids),
    )
