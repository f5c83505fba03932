"""RFM scoring (Hughes 1994): how recently, how often and how much each customer bought, scored 1-5
against everyone else, and the named segments marketing acts on (champions, at risk, lost...).

Scores are quintiles by rank, so they mean "better than this share of customers":

    score = 1 + floor(5 * worse / n)

where ``n`` is the number of customers scored and ``worse`` the number of customers strictly worse
on that measure (``rank() over (order by ...)``, 0-based, ties sharing the lowest rank). Ties share
a score, the one of the first position the tie group occupies, so the result does not depend on
which engine sorted the rows. A measure everyone shares (a lone customer, everyone bought the same
day) scores 1: nobody is beaten. Five evenly spread groups get 1 to 5 each; one-time buyers, often
half the base, all get F = 1.

- **R**ecency: days from the last purchase day to ``end``; fewer is better.
- **F**requency: purchase *days* (``summary.frequency + 1``, the summary counts repeat days), not
  orders: several orders on one day are one shopping trip, as in the summary and the CLV models.
- **M**onetary: revenue (net of returns) up to ``end``.

Segments use R and the combined FM score, ``fm_score = floor((F + M + 1) / 2)`` (their mean,
halves rounded up), on the usual grid (``SEGMENT_GRID``; docs/analytics.md prints it).
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis.expr.types import IntegerColumn, Table

from guanxi.errors import N_

SEGMENTS: dict[str, str] = {
    "champions": N_("Champions"),
    "loyal": N_("Loyal customers"),
    "potential_loyalists": N_("Potential loyalists"),
    "new": N_("New customers"),
    "promising": N_("Promising"),
    "need_attention": N_("Need attention"),
    "about_to_sleep": N_("About to sleep"),
    "at_risk": N_("At risk"),
    "cannot_lose": N_("Cannot lose them"),
    "hibernating": N_("Hibernating"),
    "lost": N_("Lost customers"),
}
"""Segment key -> English msgid, best first (translated through the catalogue)."""

SEGMENT_ACTIONS: dict[str, str] = {
    "champions": N_("Reward them; ask for reviews and referrals; offer new products first"),
    "loyal": N_("Upsell higher-value products; invite to the loyalty programme"),
    "potential_loyalists": N_("Offer membership or loyalty benefits; recommend related products"),
    "new": N_("Onboard them well; build the relationship early"),
    "promising": N_("Raise awareness; free trials and introductory offers"),
    "need_attention": N_("Limited-time offers based on their past purchases"),
    "about_to_sleep": N_("Share popular products and reactivation offers"),
    "at_risk": N_("Personal e-mails and calls to win them back; renewals"),
    "cannot_lose": N_("Win them back with a personal contact; find out what went wrong"),
    "hibernating": N_("Offer other relevant products; special discounts"),
    "lost": N_("Reach out with a win-back campaign; otherwise spend nothing more"),
}
"""What marketing usually does with each segment (a short suggestion shown beside it)."""

# R score (5..1, rows) x FM score (1..5, columns) -> segment: a full, non-overlapping grid
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "lost", "at_risk", "at_risk", "cannot_lose"),
}

RFM_COLUMNS = (
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "fm_score",
    "rfm_code",
    "segment",
)


def segment_label(key: str) -> str:
    """The English msgid naming a segment key (translate it where it is shown)."""
    return SEGMENTS[key]


def segment_of(r_score: int, fm_score: int) -> str:
    """The segment key for an R score and a combined FM score (both 1-5), from the grid."""
    return SEGMENT_GRID[r_score][fm_score - 1]


def quintile(worse: IntegerColumn, count: IntegerColumn) -> IntegerColumn:
    """``1 + floor(5 * worse / count)``: the 1-5 score of a rank among ``count`` customers."""
    # integers divided exactly: the quotient is an integer only when it should be, so no
    # engine rounds a boundary case across the floor
    return ((worse * 5) / count).floor().cast("int64") + 1


def rfm_scores(summary: Table, *, end: dt.date) -> Table:
    """R, F and M scores, the RFM code and the segment of every customer in ``summary``.

    ``summary`` is ``guanxi.analytics.summary.customer_summary(..., end=end)``; columns are
    ``RFM_COLUMNS``.
    """
    base = summary.select(
        "customer_id",
        recency_days=ibis.literal(end).delta(summary.last_purchase, unit="day").cast("int64"),
        frequency=(summary.frequency + 1).cast("int64"),
        monetary=summary.revenue.cast("float64"),
    )
    everyone = base.customer_id.count().over(ibis.window())
    scored = base.mutate(
        # "worse" means more days since the last purchase, fewer purchase days, less revenue
        r_score=quintile(ibis.rank().over(order_by=ibis.desc(base.recency_days)), everyone),
        f_score=quintile(ibis.rank().over(order_by=base.frequency), everyone),
        m_score=quintile(ibis.rank().over(order_by=base.monetary), everyone),
    )
    scored = scored.mutate(
        fm_score=((scored.f_score + scored.m_score + 1) / 2).floor().cast("int64"),
        rfm_code=scored.r_score.cast("string").concat(
            scored.f_score.cast("string"), scored.m_score.cast("string")
        ),
    )
    cell = scored.r_score * 10 + scored.fm_score
    branches = [
        (r * 10 + fm, segment)
        for r, row in SEGMENT_GRID.items()
        for fm, segment in enumerate(row, 1)
    ]
    scored = scored.mutate(segment=cell.cases(*branches))
    return scored.select(*RFM_COLUMNS)


def segment_counts(scores: Table) -> Table:
    """Customers, revenue and mean scores per segment (the segment overview's rows)."""
    return scores.group_by("segment").aggregate(
        customers=scores.count(),
        monetary=scores.monetary.sum(),
        recency_days=scores.recency_days.mean(),
        frequency=scores.frequency.mean(),
    )
