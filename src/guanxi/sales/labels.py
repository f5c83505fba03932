"""What the sales domain's statuses, channels and fields are called on pages and in exports: the
one place for these labels, marked for translation."""

from __future__ import annotations

from guanxi.errors import N_

ORDER_STATUS_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "confirmed": N_("Confirmed"),
    "invoiced": N_("Invoiced"),
    "shipped": N_("Shipped"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
    "returned": N_("Returned"),
}

ORDER_CHANNEL_LABELS: dict[str, str] = {
    "store": N_("Store"),
    "web": N_("Web shop"),
    "phone": N_("Phone"),
    "distributor": N_("Distributor"),
    "field": N_("Field sales"),
    "marketplace": N_("Marketplace"),
    "other": N_("Other"),
}

CONTRACT_STATUS_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "active": N_("Active"),
    "expiring": N_("Expiring"),
    "expired": N_("Expired"),
    "terminated": N_("Terminated"),
    "renewed": N_("Renewed"),
}

STAGE_OUTCOME_LABELS: dict[str, str] = {
    "open": N_("Open"),
    "won": N_("Won"),
    "lost": N_("Lost"),
}

# The default stages' labels, so that the catalog translates them; an administrator's own
# labels are shown as typed.
DEFAULT_STAGE_LABELS: tuple[str, ...] = (
    N_("Lead"),
    N_("Qualified"),
    N_("Proposal"),
    N_("Negotiation"),
    N_("Won"),
    N_("Lost"),
)

OPPORTUNITY_SOURCE_LABELS: dict[str, str] = {
    "referral": N_("Referral"),
    "web": N_("Web"),
    "phone": N_("Phone"),
    "exhibition": N_("Trade fair"),
    "campaign": N_("Campaign"),
    "partner": N_("Partner"),
    "existing": N_("Existing customer"),
    "other": N_("Other"),
}
