"""The mining centre's dashboard (/analytics): the charts of the latest scoring run under the
period, team, region and channel filters. The page holds the filters and the words; the charts
are drawn in the browser from the analytics API (``analytics/static/dashboard.js``), each point
carrying the link to the customer list behind it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from guanxi.analytics import lifecycle, nba, rfm, tiers
from guanxi.analytics.dashboard_scope import SCOPE_PARAMS, scope_from
from guanxi.analytics.runs import latest_run
from guanxi.analytics.service import previous_run
from guanxi.analytics.visible_scores import sees_everyone
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.customers.search import common_values, filter_clauses
from guanxi.deps import DbSession, require
from guanxi.errors import N_
from guanxi.sales.labels import ORDER_CHANNEL_LABELS
from guanxi.web import i18n
from guanxi.web.forms import FormInvalid, refusals
from guanxi.web.templating import render
from guanxi.web.vendor import PLOTLY_URL

router = APIRouter(include_in_schema=False)

MAX_REGIONS = 200

# words the charts need, translated into the viewer's language by the page
CHART_WORDS = {
    "customers": N_("Customers"),
    "profit_share": N_("Share of profit"),
    "cumulative": N_("Cumulative share of profit"),
    "customer_share": N_("Share of customers"),
    "top": N_("Top %(share)s"),
    "recency": N_("Recency score (R)"),
    "frequency": N_("Frequency score (F)"),
    "before": N_("Before"),
    "now": N_("Now"),
    "clv": N_("CLV"),
    "equity": N_("Customer equity"),
    "months_since": N_("Months since the first purchase"),
    "cohort": N_("Acquisition month"),
    "retention": N_("Retained"),
    "reached": N_("Reached"),
    "mean_risk": N_("Mean churn risk"),
    "high_risk": N_("Customers at high risk"),
    "predicted": N_("Predicted"),
    "actual": N_("Actual"),
    "repeat_purchases": N_("Repeat purchases per customer in the holdout"),
    "calibration_frequency": N_("Repeat purchases in the calibration period"),
    "week": N_("Week"),
    "cumulative_repeats": N_("Cumulative repeat purchases"),
    "holdout_starts": N_("holdout starts"),
    "no_data": N_("Nothing to show for these filters."),
    "no_run": N_("No scoring run has finished yet: run `guanxi analyze` first."),
    "failed": N_("This chart could not be loaded."),
    "headline": N_("The top %(share)s of customers bring %(profit)s of the profit"),
    "see_them": N_("See them"),
    "gini": N_("Gini coefficient"),
    "not_for_you": N_("Shown to those who see every customer."),
}


def _words() -> dict[str, Any]:
    return {
        "chart": {key: i18n.gettext(text) for key, text in CHART_WORDS.items()},
        "tiers": {key: i18n.gettext(label) for key, label in tiers.TIERS.items()},
        "stages": {key: i18n.gettext(label) for key, label in lifecycle.STAGES.items()},
        "segments": {key: i18n.gettext(label) for key, label in rfm.SEGMENTS.items()},
        "actions": {key: i18n.gettext(title) for key, (title, _) in nba.ACTIONS.items()},
        "locale": i18n.current_locale(),
    }


@router.get("/analytics", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("analytics", "read")],
) -> HTMLResponse:
    """The dashboard; ``?bought_from=&bought_to=&team_id=&region=&channel=`` filter every chart."""
    values = {name: request.query_params.get(name, "").strip() for name in SCOPE_PARAMS}
    message = None
    try:
        with refusals(session):  # refuse here what the charts' API would refuse
            filter_clauses(session, scope_from(values).customers)
    except FormInvalid as invalid:
        message = invalid.message
    run = latest_run(session)
    return render(
        request,
        "analytics/dashboard.html",
        {
            "values": values,
            "scope_query": urlencode({k: v for k, v in values.items() if v}),
            "message": message,
            "run": run,
            "previous": previous_run(session, run) if run else None,
            "teams": auth_service.list_teams(session=session),
            "regions": common_values(session, actor, "region", MAX_REGIONS),
            "channels": ORDER_CHANNEL_LABELS,
            "words": _words(),
            "full_view": sees_everyone(session, actor),
            "can_run": actor.can("analytics", "create"),
            "can_funnel": actor.can("opportunities", "read"),
            "plotly_url": PLOTLY_URL,
        },
        status_code=422 if message else 200,
    )
