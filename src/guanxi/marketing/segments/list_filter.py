"""The customer list's ``segment=<id>`` filter: a saved segment's definition, expanded each time
it is used (segments are dynamic), so ``/customers?segment=3``, ``/api/v1/customers?segment=3``
and ``/customers/export?segment=3`` list, return and export its members as they are now.

It can be combined with any other filter (``?segment=3&city=上海``); record visibility is added by
the list itself, as for every filter.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

from guanxi.customers import search
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.marketing.segments import service
from guanxi.marketing.segments.models import Segment
from guanxi.web.i18n import gettext


def _segment(session: Session, raw: str) -> Segment:
    segment = session.get(Segment, int(raw)) if raw.strip().isdigit() else None
    if segment is None:
        raise InvalidInput(
            N_("There is no saved segment {value}: it may have been deleted."),
            errors=[FieldError(service.SEGMENT_PARAM, N_("No saved segment has this number."))],
            value=raw,
        )
    return segment


def _clause(session: Session, values: Mapping[str, str]) -> ColumnElement[bool]:
    segment = _segment(session, values[service.SEGMENT_PARAM])
    spec = service.spec_for(service.pairs_of(segment))
    return and_(*search.filter_clauses(session, spec))


def _describe(session: Session, values: Mapping[str, str]) -> str:
    # a chip names even a segment that is gone, so the list can offer to drop the filter
    raw = values[service.SEGMENT_PARAM]
    try:
        name = _segment(session, raw).name
    except InvalidInput:
        return gettext(N_("Segment {value}: not found")).format(value=raw)
    return f"{gettext(N_('Segment'))}: {name}"


search.register_filter(search.ListFilter("segment", (service.SEGMENT_PARAM,), _clause, _describe))
