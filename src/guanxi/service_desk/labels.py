"""Words for the service desk's codes, marked for the catalog and translated where shown
(pages, the portal, mails): ticket kinds, statuses, priorities and channels, and the fields a
ticket's history names."""

from __future__ import annotations

from typing import Final

from guanxi.errors import N_

KIND_LABELS: Final[dict[str, str]] = {
    "complaint": N_("Complaint"),
    "inquiry": N_("Inquiry"),
    "suggestion": N_("Suggestion"),
    "service_request": N_("Service request"),
}
STATUS_LABELS: Final[dict[str, str]] = {
    "new": N_("New"),
    "assigned": N_("Assigned"),
    "in_progress": N_("In progress"),
    "waiting": N_("Waiting on customer"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
PRIORITY_LABELS: Final[dict[str, str]] = {
    "low": N_("Low"),
    "normal": N_("Normal"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}
CHANNEL_LABELS: Final[dict[str, str]] = {
    "phone": N_("Phone"),
    "email": N_("E-mail"),
    "web": N_("Web"),
    "portal": N_("Portal"),
    "visit": N_("Visit"),
    "sms": N_("SMS"),
    "chat": N_("Chat"),
    "other": N_("Other"),
}
# the fields a ticket's history (TicketChange.field) names
FIELD_LABELS: Final[dict[str, str]] = {
    "status": N_("Status"),
    "priority": N_("Priority"),
    "category": N_("Category"),
    "root_cause": N_("Root cause"),
    "queue_id": N_("Queue"),
    "assignee_id": N_("Assignee"),
    "station_id": N_("Service station"),
    "merged_into": N_("Merged into"),
    "merged_from": N_("Merged from"),
}
