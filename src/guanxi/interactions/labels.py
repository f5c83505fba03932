"""What the touch centre's channels, directions and outcomes are called on pages and in exports:
the one place for these labels, marked for translation."""

from __future__ import annotations

from guanxi.errors import N_

CHANNEL_LABELS: dict[str, str] = {
    "phone": N_("Phone"),
    "email": N_("Email"),
    "sms": N_("SMS"),
    "wechat": N_("WeChat"),
    "fax": N_("Fax"),
    "visit": N_("Visit"),
    "meeting": N_("Meeting"),
    "web_chat": N_("Web chat"),
    "call_centre": N_("Call centre"),
}

DIRECTION_LABELS: dict[str, str] = {
    "inbound": N_("Inbound"),
    "outbound": N_("Outbound"),
}

# The outcomes offered on the forms. The store keeps any short text (an API client or an older
# record may say something else); a known code is shown with its label, anything else as it is.
OUTCOME_LABELS: dict[str, str] = {
    "reached": N_("Reached the customer"),
    "no_answer": N_("No answer"),
    "left_message": N_("Left a message"),
    "call_back": N_("Call back later"),
    "interested": N_("Interested"),
    "not_interested": N_("Not interested"),
    "ordered": N_("Placed an order"),
    "complaint": N_("Complaint"),
    "resolved": N_("Resolved"),
}

SOURCE_LABELS: dict[str, str] = {
    "manual": N_("Logged by hand"),
    "follow_up": N_("Completed follow-up"),
    "email_out": N_("E-mail sent"),
    "email_in": N_("E-mail received"),
    "api": N_("API"),
}
