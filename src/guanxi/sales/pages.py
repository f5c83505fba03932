"""The sales area's landing page: the way into the pipeline, orders, products, contracts and the
funnel, each shown to the roles that may read it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from guanxi.web.pages import require_area
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/sales", response_class=HTMLResponse, dependencies=[require_area("sales")])
def sales_home(request: Request) -> HTMLResponse:
    return render(request, "sales/home.html", {})
