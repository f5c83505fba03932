"""What every dashboard chart is filtered by, and where a click on a bar or cell leads.

The filters are the customer list's own URL parameters (``customers.search``), so a drill-down is
the dashboard's filters plus the bar's: the list shows exactly the customers the bar counted.

- **period** (``bought_from``, ``bought_to``): the customers who placed an order in it;
- **channel** (``channel``): ... through that sales channel (with the period: in it);
- **team** (``team_id``) and **region** (``region``): the customer's team and region.

The cohort chart reads the period as the acquisition months to show and ignores the channel, and
the pipeline funnel counts the opportunities created in the period (docs/analytics.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from guanxi.customers.search import CustomerFilter, filter_from_query

SCOPE_PARAMS: tuple[str, ...] = ("bought_from", "bought_to", "channel", "team_id", "region")
CUSTOMER_LIST = "/customers"


@dataclass(frozen=True)
class Scope:
    """The dashboard's filters: the values as given (for links) and as a customer filter."""

    values: dict[str, str] = field(default_factory=dict)
    customers: CustomerFilter = field(default_factory=CustomerFilter)

    @property
    def is_empty(self) -> bool:
        return not self.values

    def without(self, *params: str) -> Scope:
        return scope_from(
            {name: value for name, value in self.values.items() if name not in params}
        )

    @property
    def period(self) -> tuple[dt.date | None, dt.date | None]:
        def day(name: str) -> dt.date | None:
            value = self.values.get(name)
            return dt.date.fromisoformat(value) if value else None

        return day("bought_from"), day("bought_to")

    def drill(self, **element: Any) -> str:
        """The customer list behind a bar or cell: these filters plus the element's (which win
        where both name a parameter)."""
        params: dict[str, str] = dict(self.values)
        params.update({name: _text(value) for name, value in element.items() if value is not None})
        return CUSTOMER_LIST + ("?" + urlencode(params) if params else "")


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def scope_from(params: Mapping[str, Any]) -> Scope:
    """The dashboard's filters from URL parameters; anything else is ignored. A bad value is
    refused by the customer filter (``InvalidInput`` naming the parameter)."""
    values = {
        name: str(params.get(name)).strip()
        for name in SCOPE_PARAMS
        if params.get(name) is not None and str(params.get(name)).strip()
    }
    return Scope(values=values, customers=filter_from_query(values))


NO_SCOPE = Scope()
