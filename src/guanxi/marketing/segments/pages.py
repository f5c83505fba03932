"""The marketing area's pages: the segment list (where ``/marketing`` opens) and the segment
explorer, where conditions are added from the field catalogue and the segment's size, value and
trend follow as they change (``static/segment_explorer.js`` asks the preview API)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.analytics.tiers import TIERS
from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import N_, GuanxiError
from guanxi.marketing.segments import fields as catalogue
from guanxi.marketing.segments import service
from guanxi.marketing.segments.models import Segment
from guanxi.marketing.segments.schemas import SegmentCreate, SegmentPreview, SegmentUpdate
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse
from guanxi.web.pages import AREA_SUMMARIES, require_area
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

# words the explorer's script shows, translated on the page
SCRIPT_WORDS: dict[str, str] = {
    "add": N_("Add"),
    "remove": N_("Remove"),
    "choose": N_("Choose…"),
    "at_least": N_("at least"),
    "less_than": N_("less than"),
    "from": N_("from"),
    "to": N_("to"),
    "updating": N_("Updating…"),
    "failed": N_("The figures could not be updated; check the conditions."),
    "no_run": N_("No scoring run has finished yet: value figures follow the first run."),
    "no_conditions": N_("No conditions yet: the segment holds every customer you can see."),
    "share_hint": N_("0 to 1"),
    "customers": N_("Customers"),
    "clv": N_("CLV"),
    "figures_per_run": N_("Figures per run"),
    "run_up_to": N_("Run up to"),
    "trend_label": N_("Customers and CLV in the last %(count)s runs"),
    "no_trend": N_("The trend appears once scoring runs have finished."),
    "run_note": N_("Scores of the run up to %(date)s; %(count)s of the customers scored."),
}
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 240, 64, 6
# messages a refused condition may carry (the preview API answers in English)
CONDITION_MESSAGES = (
    N_("Choose from the listed values."),
    N_("Must be a number."),
    N_("Write a month as 2026-03."),
    N_("Write dates as 2026-11-23."),
    N_("The end must not be before the start."),
    N_("Must be a whole number."),
    N_("Not a date."),
    N_("Unknown condition."),
    N_("Give this condition once."),
    N_("Must be at most 200 characters."),
    N_("Choose one of the offered values."),
    N_("No such user."),
    N_("No such team."),
    N_("A segment cannot contain another segment."),
)


# ---------------------------------------------------------------- the list


@router.get("/marketing", response_class=HTMLResponse)
def marketing_home(
    request: Request, session: DbSession, actor: Annotated[User, require_area("marketing")]
) -> HTMLResponse:
    """The marketing area opens on the segment list for those who may read segments."""
    if not actor.can("segments", "read"):
        return render(
            request, "area.html", {"area": "marketing", "summary": AREA_SUMMARIES["marketing"]}
        )
    return _segment_list(request, session, actor)


@router.get("/marketing/segments", response_class=HTMLResponse)
def segment_list(
    request: Request, session: DbSession, actor: Annotated[User, require("segments", "read")]
) -> HTMLResponse:
    return _segment_list(request, session, actor)


def _segment_list(request: Request, session: DbSession, actor: User) -> HTMLResponse:
    segments = service.list_segments(session=session)
    every_pair = [pair for s in segments for pair in service.pairs_of(s)]
    fields = catalogue.for_viewer(
        session, actor, catalogue.catalogue(session), every_pair, suggest=False
    )
    return render(
        request,
        "marketing/segment_list.html",
        {
            "segments": segments,
            "sizes": service.sizes(session=session, actor=actor, segments=segments),
            "conditions": {s.id: catalogue.describe(fields, service.pairs_of(s)) for s in segments},
        },
    )


# ---------------------------------------------------------------- the explorer


def _line(values: list[float]) -> list[tuple[float, float]]:
    """Points of one sparkline series scaled to its own maximum (the script draws the same)."""
    top = max(values, default=0) or 1
    span_x = SPARK_WIDTH - 2 * SPARK_PAD
    span_y = SPARK_HEIGHT - 2 * SPARK_PAD
    step = span_x / (len(values) - 1) if len(values) > 1 else 0
    return [
        (
            round(SPARK_PAD + i * step if len(values) > 1 else SPARK_WIDTH / 2, 1),
            round(SPARK_HEIGHT - SPARK_PAD - max(v, 0) / top * span_y, 1),
        )
        for i, v in enumerate(values)
    ]


def _spark(preview: SegmentPreview | None) -> dict[str, Any]:
    trend = preview.trend if preview else []
    size = _line([float(p.size) for p in trend])
    clv = _line([p.clv for p in trend])
    return {
        "width": SPARK_WIDTH,
        "height": SPARK_HEIGHT,
        "size": " ".join(f"{x},{y}" for x, y in size),
        "clv": " ".join(f"{x},{y}" for x, y in clv),
        "size_dots": size,
    }


def _refusal(exc: GuanxiError) -> FormInvalid:
    """A service refusal as the explorer shows it: messages by parameter name (``cf.grade``
    and ``tier`` alike), translated."""
    errors = {e.field: i18n.translate_template(e.message, {}) for e in exc.errors}
    return FormInvalid(errors, i18n.translate_template(exc.template, dict(exc.params)))


def _explorer(
    request: Request,
    session: DbSession,
    actor: User,
    *,
    segment: Segment | None,
    pairs: list[tuple[str, str]],
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    fields = catalogue.for_viewer(session, actor, catalogue.catalogue(session), pairs)
    preview: SegmentPreview | None = None
    condition_errors: dict[str, str] = {}
    try:
        preview = service.preview(session=session, actor=actor, params=pairs)
    except GuanxiError as refused:
        condition_errors = _refusal(refused).errors
    errors = dict(invalid.errors) if invalid else {}
    for key, message in errors.items():
        if key not in ("name", "description"):
            condition_errors.setdefault(key, message)
    query = urlencode(pairs)
    return render(
        request,
        "marketing/segment_explorer.html",
        {
            "segment": segment,
            "values": values,
            "errors": errors,
            "message": invalid.message if invalid else None,
            "query": query,
            "list_url": service.list_url(pairs),
            "condition_lines": catalogue.describe(fields, pairs),
            "preview": preview,
            "tier_labels": TIERS,
            "spark": _spark(preview),
            "script_state": {
                "fields": catalogue.as_json(fields),
                "groups": catalogue.groups_json(),
                "pairs": [list(p) for p in pairs],
                "errors": condition_errors,
                "words": {k: i18n.gettext(v) for k, v in SCRIPT_WORDS.items()},
                "messages": {m: i18n.gettext(m) for m in CONDITION_MESSAGES},
                "tiers": {k: i18n.gettext(v) for k, v in TIERS.items()},
            },
            "condition_errors": condition_errors,
        },
        status_code=422 if invalid else 200,
    )


def _posted_pairs(data: dict[str, Any]) -> list[tuple[str, str]]:
    # the conditions travel as one query string, the way the customer list's URL holds them
    return parse_qsl(str(data.get("params", "")), keep_blank_values=False)


def _posted_values(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": data.get("name", ""), "description": data.get("description", "")}


def _version(data: dict[str, Any]) -> int | None:
    value = str(data.get("version", ""))
    return int(value) if value.isdigit() else None


@router.get("/marketing/segments/new", response_class=HTMLResponse)
def segment_new(
    request: Request, session: DbSession, actor: Annotated[User, require("segments", "create")]
) -> HTMLResponse:
    """An empty explorer, or one holding the customer list's filters given in the URL
    (``/marketing/segments/new?tier=vip&city=上海``)."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if v]
    return _explorer(
        request, session, actor, segment=None, pairs=pairs, values={"name": "", "description": ""}
    )


@router.post("/marketing/segments")
def segment_create(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("segments", "create")],
) -> Response:
    pairs = _posted_pairs(data)
    try:
        segment_in = parse(SegmentCreate, {**_posted_values(data), "params": pairs})
        segment = service.create(session=session, actor=actor, segment_in=segment_in)
    except FormInvalid as invalid:
        return _explorer(
            request,
            session,
            actor,
            segment=None,
            pairs=pairs,
            values=_posted_values(data),
            invalid=invalid,
        )
    except GuanxiError as refused:
        session.rollback()
        return _explorer(
            request,
            session,
            actor,
            segment=None,
            pairs=pairs,
            values=_posted_values(data),
            invalid=_refusal(refused),
        )
    return redirect(
        request,
        f"/marketing/segments/{segment.id}",
        flash=N_("Segment {name} saved."),
        name=segment.name,
    )


@router.get("/marketing/segments/{segment_id:int}", response_class=HTMLResponse)
def segment_explorer(
    segment_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("segments", "read")],
) -> HTMLResponse:
    segment = service.get(session=session, segment_id=segment_id)
    values = {
        "name": segment.name,
        "description": segment.description,
        "version": segment.version,
    }
    return _explorer(
        request, session, actor, segment=segment, pairs=service.pairs_of(segment), values=values
    )


@router.post("/marketing/segments/{segment_id:int}")
def segment_update(
    segment_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("segments", "update")],
) -> Response:
    segment = service.get(session=session, segment_id=segment_id)
    pairs = _posted_pairs(data)
    values = {**_posted_values(data), "version": data.get("version", "")}
    try:
        segment_in = parse(SegmentUpdate, {**_posted_values(data), "params": pairs})
        service.update(
            session=session,
            actor=actor,
            segment=segment,
            segment_in=segment_in,
            expected_version=_version(data),
        )
    except FormInvalid as invalid:
        return _explorer(
            request, session, actor, segment=segment, pairs=pairs, values=values, invalid=invalid
        )
    except GuanxiError as refused:
        session.rollback()
        segment = service.get(session=session, segment_id=segment_id)
        return _explorer(
            request,
            session,
            actor,
            segment=segment,
            pairs=pairs,
            values=values,
            invalid=_refusal(refused),
        )
    return redirect(
        request,
        f"/marketing/segments/{segment.id}",
        flash=N_("Segment {name} saved."),
        name=segment.name,
    )


@router.post("/marketing/segments/{segment_id:int}/delete")
def segment_delete(
    segment_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("segments", "delete")],
) -> Response:
    segment = service.get(session=session, segment_id=segment_id)
    name = segment.name
    try:
        service.delete(
            session=session, actor=actor, segment=segment, expected_version=_version(data)
        )
    except GuanxiError as refused:
        session.rollback()
        message = _refusal(refused).message or ""
        return redirect(request, f"/marketing/segments/{segment_id}", flash=message)
    return redirect(request, "/marketing/segments", flash=N_("Segment {name} deleted."), name=name)
