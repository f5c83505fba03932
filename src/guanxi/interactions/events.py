"""Web behaviour events (网页浏览): page and product views from the shop, their browsing sessions,
and linking anonymous visitors to customers once they log in.

Events are behaviour data, written in bulk: a batch of thousands is checked as a whole and
written with one multi-row insert, or not at all. Who the visitor is comes from a trusted caller
(an API token naming the customer) or from an earlier login (``VisitorLink``); ``identify``
records such a login and gives the visitor's earlier anonymous events to the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.interactions.models import WebEvent


@dataclass(frozen=True)
class BrowsingSession:
    """One browser session of a customer on the shop: when it began and ended (its last event
    plus that event's dwell time), how many pages and products were viewed, the time spent, the
    page it started on and the products seen (in the order first seen)."""

    session_id: str
    started_at: datetime
    ended_at: datetime
    page_views: int
    product_views: int
    dwell_seconds: int
    first_url: str
    product_ids: tuple[int, ...]


def sessions_for_customer(
    session: Session, *, customer_id: int, before: datetime | None, limit: int
) -> list[BrowsingSession]:
    """The customer's browsing sessions that started at or before ``before`` (all when None),
    newest first, at most ``limit``.

    Two queries: the newest sessions' ids from the customer's events up to ``before`` (a
    session that started by then has its first event among them, so the earliest time found is
    its start), then every event of those sessions, summed up here.
    """
    if limit <= 0:
        return []
    started = func.min(WebEvent.occurred_at)
    newest = (
        select(WebEvent.session_id, started)
        .where(WebEvent.customer_id == customer_id)
        .group_by(WebEvent.session_id)
        .order_by(started.desc(), WebEvent.session_id.desc())
        .limit(limit)
    )
    if before is not None:
        newest = newest.where(WebEvent.occurred_at <= before)
    session_ids = [row[0] for row in session.execute(newest)]
    if not session_ids:
        return []
    rows = session.execute(
        select(
            WebEvent.session_id,
            WebEvent.kind,
            WebEvent.occurred_at,
            WebEvent.url,
            WebEvent.product_id,
            WebEvent.dwell_seconds,
        )
        .where(WebEvent.customer_id == customer_id, WebEvent.session_id.in_(session_ids))
        .order_by(WebEvent.occurred_at, WebEvent.id)
    )
    builders: dict[str, _SessionBuilder] = {}
    for session_id, kind, occurred_at, url, product_id, dwell in rows:
        builder = builders.get(session_id)
        if builder is None:
            builder = builders[session_id] = _SessionBuilder(session_id, occurred_at)
        builder.add(kind, occurred_at, url, product_id, dwell)
    summaries = [builders[sid].build() for sid in session_ids if sid in builders]
    return sorted(summaries, key=lambda s: (s.started_at, s.session_id), reverse=True)


class _SessionBuilder:
    """Sums one session's events, read in time order."""

    def __init__(self, session_id: str, started_at: datetime) -> None:
        self.session_id = session_id
        self.started_at = started_at
        self.ended_at = started_at
        self.page_views = 0
        self.product_views = 0
        self.dwell_seconds = 0
        self.first_url = ""
        self.product_ids: dict[int, None] = {}

    def add(
        self,
        kind: str,
        occurred_at: datetime,
        url: str,
        product_id: int | None,
        dwell: int | None,
    ) -> None:
        # a page viewed for two minutes keeps the session going for those two minutes
        ended = occurred_at + timedelta(seconds=dwell) if dwell else occurred_at
        self.ended_at = max(self.ended_at, ended)
        if kind == "page_view":
            self.page_views += 1
        else:
            self.product_views += 1
        if not self.first_url and url:
            self.first_url = url
        if product_id is not None:
            self.product_ids.setdefault(product_id, None)
        if dwell:
            self.dwell_seconds += dwell

    def build(self) -> BrowsingSession:
        return BrowsingSession(
            session_id=self.session_id,
            started_at=self.started_at,
            ended_at=self.ended_at,
            page_views=self.page_views,
            product_views=self.product_views,
            dwell_seconds=self.dwell_seconds,
            first_url=self.first_url,
            product_ids=tuple(self.product_ids),
        )
