"""Value tiers (客户价值分层) by profit contribution, as the material describes them:

- 屈从型 VIP (``vip``): the top ``vip_share`` (1%) of customers by profit. Defer to them, anticipate
  their needs, lock in their loyalty.
- 关怀型 key (``key``): the customers after the VIPs, down to where the customers from the top have
  brought ``key_cumulative_share`` (80%) of all positive profit. Care for them, track their needs,
  stay in touch.
- 适应型 ordinary (``ordinary``): the rest that are profitable. Serve them with existing products.
- 冷漠型 unprofitable (``unprofitable``): profit after cost to serve is zero or less ("垃圾客户",
  they cost more than they bring). Spend nothing extra on them.

Profit = gross margin (revenue minus product cost, ``summary.margin``) minus cost to serve:
``orders x cost_per_order + tickets x cost_per_ticket + marketing contacts x cost_per_contact``.

Customers are ranked by profit, highest first, ties broken by ``customer_id`` (so two engines and
two runs agree). With ``n`` customers, the VIPs are the first ``max(1, floor(vip_share x n))``
profitable ones. A later profitable customer is key while the profit of everyone ranked above them
is still below ``key_cumulative_share`` of the total positive profit: the customer who crosses the
line is key, the next one is not. Customers who bought nothing are not ranked (the summary holds
buyers only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
from ibis.expr.types import Table

from guanxi.analytics.pareto import top_count
from guanxi.errors import N_

TIERS: dict[str, str] = {
    "vip": N_("VIP (deferential)"),
    "key": N_("Key (caring)"),
    "ordinary": N_("Ordinary (adaptive)"),
    "unprofitable": N_("Unprofitable (indifferent)"),
}
"""Tier key -> English msgid, top of the pyramid first (zh-CN 屈从型, 关怀型, 适应型, 冷漠型)."""

TIER_STRATEGIES: dict[str, str] = {
    "vip": N_("Defer to them: anticipate their needs, serve them first, lock in their loyalty"),
    "key": N_("Care for them: track their needs, stay in touch, grow them towards VIP"),
    "ordinary": N_("Serve them well with existing products and standard service"),
    "unprofitable": N_("Spend nothing extra: low-cost channels only, or let them go"),
}
"""What the material says to do with each tier."""

TIER_COLUMNS = (
    "customer_id",
    "orders",
    "tickets",
    "marketing_contacts",
    "gross_margin",
    "cost_to_serve",
    "profit",
    "profit_rank",
    "cumulative_share",
    "tier",
)


@dataclass(frozen=True)
class TierRules:
    """Where the tiers split and what serving a customer costs (company currency).

    ``vip_share``: the share of all customers who are VIPs (at least one when anyone is
    profitable). ``key_cumulative_share``: the cumulative share of total positive profit, counted
    from the most profitable customer, down to which customers after the VIPs are key.
    """

    vip_share: float = 0.01
    key_cumulative_share: float = 0.80
    cost_per_order: float = 0.0
    cost_per_ticket: float = 0.0
    cost_per_contact: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.vip_share <= 1:
            raise ValueError("vip_share must be in (0, 1]")
        if not 0 <= self.key_cumulative_share <= 1:
            raise ValueError("key_cumulative_share must be in [0, 1]")
        for name in ("cost_per_order", "cost_per_ticket", "cost_per_contact"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")


def tier_label(key: str) -> str:
    """The English msgid naming a tier key (translate it where it is shown)."""
    return TIERS[key]


def _counts(table: Table | None, name: str, end: dt.date | None) -> Table | None:
    if table is None:
        return None
    if end is not None:
        table = table.filter(table.ts.date() <= ibis.literal(end))
    return table.group_by("customer_id").aggregate(**{name: table.count().cast("int64")})


def value_tiers(
    summary: Table,
    *,
    rules: TierRules = TierRules(),  # frozen, so one shared default is safe
    tickets: Table | None = None,
    interactions: Table | None = None,
    end: dt.date | None = None,
) -> Table:
    """Profit after cost to serve, its rank and cumulative share, and the tier of every customer.

    ``summary`` is ``customer_summary``; ``tickets`` (``inputs.TICKETS``) and ``interactions``
    (``inputs.INTERACTIONS``, rows with ``kind == "marketing"`` are the contacts) are optional and
    counted up to ``end`` when given. Columns are ``TIER_COLUMNS``; ``cumulative_share`` is the
    share of total positive profit brought by this customer and everyone ranked above (null when
    nobody is profitable).
    """
    base = summary.select(
        "customer_id",
        orders=summary.orders.cast("int64"),
        gross_margin=summary.margin.cast("float64"),
    )
    marketing = None
    if interactions is not None:
        marketing = interactions.filter(interactions.kind == "marketing")
    for name, counts in (
        ("tickets", _counts(tickets, "tickets", end)),
        ("marketing_contacts", _counts(marketing, "marketing_contacts", end)),
    ):
        if counts is None:
            base = base.mutate(**{name: ibis.literal(0, "int64")})
        else:
            base = base.left_join(counts, "customer_id").select(
                base, counts[name].fill_null(0).name(name)
            )
    cost = (
        base.orders * rules.cost_per_order
        + base.tickets * rules.cost_per_ticket
        + base.marketing_contacts * rules.cost_per_contact
    ).cast("float64")
    base = base.mutate(cost_to_serve=cost, profit=base.gross_margin - cost)
    order = [ibis.desc(base.profit), base.customer_id]
    positive = ibis.greatest(base.profit, 0.0)
    ranked = base.mutate(
        profit_rank=(ibis.row_number().over(order_by=order) + 1).cast("int64"),
        customers=base.customer_id.count().over(ibis.window()),
        positive=positive,
        cumulative=positive.sum().over(ibis.window(order_by=order, rows=(None, 0))),
        total=positive.sum().over(ibis.window()),
    )
    above = ranked.cumulative - ranked.positive
    tier = ibis.cases(
        (ranked.profit <= 0, "unprofitable"),
        (ranked.profit_rank <= top_count(ranked.customers, rules.vip_share), "vip"),
        (above < ranked.total * rules.key_cumulative_share, "key"),
        else_="ordinary",
    )
    share = ibis.ifelse(ranked.total > 0, ranked.cumulative / ranked.total, ibis.null("float64"))
    return ranked.mutate(cumulative_share=share, tier=tier).select(*TIER_COLUMNS)


def tier_summary(tiers: Table) -> Table:
    """One row per tier, all four even when empty, for the value pyramid.

    Columns: ``tier``, ``position`` (1 = VIP, top of the pyramid), ``customers``,
    ``customer_share``, ``gross_margin``, ``cost_to_serve``, ``profit`` and ``profit_share``: the
    tier's profit over the total *positive* profit, so VIP + key + ordinary make 100% and the
    unprofitable tier shows (negative) how much of it they destroy; null when nobody is profitable.
    """
    names = ibis.memtable(
        {"tier": list(TIERS), "position": list(range(1, len(TIERS) + 1))},
        schema={"tier": "string", "position": "int64"},
    )
    per_tier = tiers.group_by("tier").aggregate(
        customers=tiers.count().cast("int64"),
        gross_margin=tiers.gross_margin.sum(),
        cost_to_serve=tiers.cost_to_serve.sum(),
        profit=tiers.profit.sum(),
    )
    totals = tiers.aggregate(
        all_customers=tiers.count().cast("int64"),
        positive_profit=ibis.greatest(tiers.profit, 0.0).sum(),
    )
    rows = names.left_join(per_tier, "tier").select(
        names,
        customers=per_tier.customers.fill_null(0),
        gross_margin=per_tier.gross_margin.fill_null(0.0),
        cost_to_serve=per_tier.cost_to_serve.fill_null(0.0),
        profit=per_tier.profit.fill_null(0.0),
    )
    rows = rows.cross_join(totals)
    return rows.select(
        "tier",
        "position",
        "customers",
        customer_share=ibis.ifelse(
            rows.all_customers > 0,
            rows.customers.cast("float64") / rows.all_customers,
            ibis.null("float64"),
        ),
        gross_margin=rows.gross_margin,
        cost_to_serve=rows.cost_to_serve,
        profit=rows.profit,
        profit_share=ibis.ifelse(
            rows.positive_profit > 0, rows.profit / rows.positive_profit, ibis.null("float64")
        ),
    )
