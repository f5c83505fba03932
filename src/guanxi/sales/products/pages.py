"""Product pages: the catalogue list (filters in the URL, sortable, keyset pages), the product
record with its margin, the create and edit forms, deactivation and deletion. Import pages are
in ``import_pages`` and hang off this router."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.sales.models import Product
from guanxi.sales.products import import_pages
from guanxi.sales.products import service as product_service
from guanxi.sales.products.schemas import ProductCreate, ProductUpdate
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
router.include_router(import_pages.router)

SORT_COLUMNS = ("sku", "name", "category", "list_price", "updated_at")
FIRST_ORDER = {"sku": "asc", "name": "asc", "category": "asc", "list_price": "desc"}
STATUS_CHOICES = {"active": N_("Active"), "inactive": N_("Inactive"), "all": N_("All")}
PAGE_SIZE = 50
_CLEARABLE = ("category", "unit", "description")


# ---------------------------------------------------------------- the list


def _list_query(params: Any) -> tuple[product_service.ProductFilter, str, str, str]:
    status = params.get("status") or "active"
    if status not in STATUS_CHOICES:
        status = "active"
    sort = params.get("sort") or "sku"
    if sort not in SORT_COLUMNS:
        raise InvalidInput(
            N_("Products cannot be sorted by {field}."),
            errors=[FieldError("sort", N_("Choose one of the offered values."))],
            field=sort,
        )
    order = params.get("order") or FIRST_ORDER.get(sort, "desc")
    if order not in ("asc", "desc"):
        order = "asc"
    active = {"active": True, "inactive": False}.get(status)
    spec = product_service.ProductFilter(
        q=params.get("q", ""), category=params.get("category", ""), active=active
    )
    return spec, status, sort, order


@router.get("/sales/products", response_class=HTMLResponse)
def product_list(
    request: Request, session: DbSession, actor: Annotated[User, require("products", "read")]
) -> HTMLResponse:
    """``?q=茶&category=饮品&status=inactive&sort=list_price&order=desc``: a shareable list."""
    params = request.query_params
    products: list[Product] = []
    total, next_url, message = 0, None, None
    spec, status, sort, order = product_service.ProductFilter(), "active", "sku", "asc"
    try:
        with refusals(session):
            spec, status, sort, order = _list_query(params)
            page = product_service.list_products(
                session=session,
                actor=actor,
                spec=spec,
                sort=sort,
                descending=order == "desc",
                limit=PAGE_SIZE,
                cursor=params.get("cursor") or None,
            )
            total = product_service.count_products(session=session, actor=actor, spec=spec)
    except FormInvalid as invalid:
        message = invalid.message
    else:
        products = list(page.items)
        if page.next_cursor:
            kept = [(k, v) for k, v in params.multi_items() if k != "cursor" and v]
            next_url = "/sales/products?" + urlencode([*kept, ("cursor", page.next_cursor)])
    filters = [(k, v) for k, v in params.multi_items() if k in ("q", "category", "status") and v]
    sort_links = {}
    for column in SORT_COLUMNS:
        wanted = ("desc" if order == "asc" else "asc") if column == sort else None
        wanted = wanted or FIRST_ORDER.get(column, "desc")
        sort_links[column] = "/sales/products?" + urlencode(
            [*filters, ("sort", column), ("order", wanted)]
        )
    back = [(k, v) for k, v in params.multi_items() if k != "cursor" and v]
    return render(
        request,
        "sales/product_list.html",
        {
            "products": products,
            "total": total,
            "next_url": next_url,
            "first_url": "/sales/products?" + urlencode(back) if params.get("cursor") else None,
            "values": {"q": spec.q, "category": spec.category, "status": status},
            "categories": product_service.categories(session=session, actor=actor),
            "status_choices": STATUS_CHOICES,
            "sort": sort,
            "order": order,
            "sort_links": sort_links,
            "filtered": bool(filters),
            "margin": product_service.margin_percent,
            "message": message,
        },
        status_code=400 if message else 200,
    )


# ---------------------------------------------------------------- the record


@router.get("/sales/products/{product_id:int}", response_class=HTMLResponse)
def product_record(
    product_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("products", "read")],
) -> HTMLResponse:
    product = product_service.get(session=session, actor=actor, product_id=product_id)
    return render(
        request,
        "sales/product_record.html",
        {
            "product": product,
            "margin": product_service.margin_percent(product.list_price, product.unit_cost),
            "used": product_service.is_used(session=session, product=product),
        },
    )


@router.post("/sales/products/{product_id:int}/active")
def product_set_active(
    product_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("products", "update")],
) -> Response:
    """Deactivate (take out of sale) or reactivate a product."""
    product = product_service.get(session=session, actor=actor, product_id=product_id)
    wanted = str(data.get("active", "")) == "1"
    try:
        with refusals(session):
            product_service.update(
                session=session,
                actor=actor,
                product=product,
                product_in=ProductUpdate(is_active=wanted),
                expected_version=_version(data),
            )
    except FormInvalid as invalid:
        return redirect(request, f"/sales/products/{product_id}", flash=invalid.message or "")
    flash = N_("Product {sku} is active again.") if wanted else N_("Product {sku} deactivated.")
    return redirect(request, f"/sales/products/{product_id}", flash=flash, sku=product.sku)


@router.post("/sales/products/{product_id:int}/delete")
def product_delete(
    product_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("products", "delete")],
) -> Response:
    product = product_service.get(session=session, actor=actor, product_id=product_id)
    sku = product.sku
    try:
        with refusals(session):
            product_service.delete(
                session=session, actor=actor, product=product, expected_version=_version(data)
            )
    except FormInvalid as invalid:
        return redirect(request, f"/sales/products/{product_id}", flash=invalid.message or "")
    return redirect(request, "/sales/products", flash=N_("Product {sku} deleted."), sku=sku)


# ---------------------------------------------------------------- create and edit


def _version(data: dict[str, Any]) -> int | None:
    value = str(data.pop("version", ""))
    return int(value) if value.isdigit() else None


def _form(
    request: Request,
    session: DbSession,
    actor: User,
    product: Product | None,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "sales/product_form.html",
        {
            "product": product,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "categories": product_service.categories(session=session, actor=actor),
        },
        status_code=422 if invalid else 200,
    )


def _values(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "list_price": f"{product.list_price:.2f}",
        "unit_cost": f"{product.unit_cost:.2f}",
        "unit": product.unit,
        "description": product.description,
        "external_id": product.external_id or "",
        "is_active": "on" if product.is_active else "",
        "version": product.version,
    }


def _posted(data: dict[str, Any]) -> dict[str, Any]:
    """Form fields as the schemas take them: the checkbox is absent when unticked."""
    posted = {k: v for k, v in data.items() if k != "version"}
    posted["is_active"] = "true" if data.get("is_active") else "false"
    return posted


@router.get("/sales/products/new", response_class=HTMLResponse)
def product_new(
    request: Request, session: DbSession, actor: Annotated[User, require("products", "create")]
) -> HTMLResponse:
    values = {"is_active": "on", "list_price": "0.00", "unit_cost": "0.00"}
    return _form(request, session, actor, None, values)


@router.post("/sales/products/new")
def product_create(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("products", "create")],
) -> Response:
    try:
        product_in = parse(ProductCreate, _posted(data))
        with refusals(session):
            product = product_service.create(session=session, actor=actor, product_in=product_in)
    except FormInvalid as invalid:
        return _form(request, session, actor, None, data, invalid)
    return redirect(
        request,
        f"/sales/products/{product.id}",
        flash=N_("Product {sku} created."),
        sku=product.sku,
    )


@router.get("/sales/products/{product_id:int}/edit", response_class=HTMLResponse)
def product_edit(
    product_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("products", "update")],
) -> HTMLResponse:
    product = product_service.get(session=session, actor=actor, product_id=product_id)
    return _form(request, session, actor, product, _values(product))


@router.post("/sales/products/{product_id:int}/edit")
def product_update(
    product_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("products", "update")],
) -> Response:
    product = product_service.get(session=session, actor=actor, product_id=product_id)
    values = dict(data)
    expected = _version(dict(data))
    try:
        parsed = parse(ProductUpdate, _posted(data))
        # an emptied text box clears the field (parse treats empty as "not sent")
        cleared: dict[str, Any] = {k: "" for k in _CLEARABLE if data.get(k, "") == ""}
        if data.get("external_id", "") == "":
            cleared["external_id"] = None
        product_in = ProductUpdate.model_validate(
            {**parsed.model_dump(exclude_unset=True), **cleared}
        )
        with refusals(session):
            product_service.update(
                session=session,
                actor=actor,
                product=product,
                product_in=product_in,
                expected_version=expected,
            )
    except FormInvalid as invalid:
        return _form(request, session, actor, product, values, invalid)
    return redirect(request, f"/sales/products/{product_id}", flash=N_("Changes saved."))
