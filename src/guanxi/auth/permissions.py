"""The permission vocabulary: resources, actions, and the built-in roles' starting grants.

Roles are data (tables ``roles`` and ``role_permissions``); this module only says which resources
and actions exist and what the built-in roles start with when a database is first set up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from guanxi.errors import N_

Action = Literal["read", "create", "update", "delete", "export", "manage"]
ACTIONS: Final[tuple[Action, ...]] = ("read", "create", "update", "delete", "export", "manage")

RecordScope = Literal["own", "team", "all"]
RECORD_SCOPES: Final[tuple[RecordScope, ...]] = ("own", "team", "all")

# resource -> the area of MISSION.md it belongs to (used to group the role editor)
RESOURCES: Final[dict[str, str]] = {
    "customers": "customers",
    "contacts": "customers",
    "tags": "customers",
    "interactions": "interactions",
    "products": "sales",
    "opportunities": "sales",
    "orders": "sales",
    "contracts": "sales",
    "tickets": "service",
    "campaigns": "marketing",
    "segments": "marketing",
    "loyalty": "marketing",
    "analytics": "analytics",
    "reports": "analytics",
    "users": "admin",
    "teams": "admin",
    "roles": "admin",
    "audit": "admin",
    "settings": "admin",
    "webhooks": "admin",
    "jobs": "admin",
}

AREAS: Final[tuple[str, ...]] = (
    "customers",
    "interactions",
    "sales",
    "service",
    "marketing",
    "analytics",
    "admin",
)

ADMIN_ROLE: Final = "admin"

# Words shown to people; marked for the catalog, translated where they are rendered.
AREA_LABELS: Final[dict[str, str]] = {
    "customers": N_("Customers"),
    "interactions": N_("Interactions"),
    "sales": N_("Sales"),
    "service": N_("Service"),
    "marketing": N_("Marketing"),
    "analytics": N_("Analytics"),
    "admin": N_("Administration"),
}
RESOURCE_LABELS: Final[dict[str, str]] = {
    "customers": N_("customers"),
    "contacts": N_("contacts"),
    "tags": N_("tags"),
    "interactions": N_("interactions"),
    "products": N_("products"),
    "opportunities": N_("opportunities"),
    "orders": N_("orders"),
    "contracts": N_("contracts"),
    "tickets": N_("tickets"),
    "campaigns": N_("campaigns"),
    "segments": N_("segments"),
    "loyalty": N_("loyalty"),
    "analytics": N_("analytics"),
    "reports": N_("reports"),
    "users": N_("users"),
    "teams": N_("teams"),
    "roles": N_("roles"),
    "audit": N_("audit log"),
    "settings": N_("settings"),
    "webhooks": N_("webhooks"),
    "jobs": N_("background jobs"),
}
ACTION_LABELS: Final[dict[str, str]] = {
    "read": N_("read"),
    "create": N_("create"),
    "update": N_("update"),
    "delete": N_("delete"),
    "export": N_("export"),
    "manage": N_("manage"),
}
SCOPE_LABELS: Final[dict[str, str]] = {
    "own": N_("own and shared records"),
    "team": N_("records of their team and the teams below"),
    "all": N_("all records"),
}

_WORK: tuple[Action, ...] = ("read", "create", "update")
_ALL: tuple[Action, ...] = ACTIONS


@dataclass(frozen=True)
class BuiltinRole:
    name: str
    label: str
    description: str
    record_scope: RecordScope
    grants: dict[str, tuple[Action, ...]]

    def permissions(self) -> set[tuple[str, Action]]:
        return {
            (resource, action) for resource, actions in self.grants.items() for action in actions
        }


def _grant(resources: list[str], actions: tuple[Action, ...]) -> dict[str, tuple[Action, ...]]:
    return dict.fromkeys(resources, actions)


_BUSINESS = [name for name, area in RESOURCES.items() if area != "admin"]

BUILTIN_ROLES: Final[tuple[BuiltinRole, ...]] = (
    BuiltinRole(
        ADMIN_ROLE,
        N_("Administrator"),
        N_("Everything, including users, roles, teams, settings and the audit log."),
        "all",
        _grant(list(RESOURCES), _ALL),
    ),
    BuiltinRole(
        "manager",
        N_("Manager"),
        N_("Leads a team: sees and manages the records of the team and the teams below it."),
        "team",
        {
            **_grant(_BUSINESS, _ALL),
            "users": ("read",),
            "teams": ("read",),
            "jobs": ("read",),
        },
    ),
    BuiltinRole(
        "sales",
        N_("Sales"),
        N_("Works their own customers, opportunities, orders and contracts."),
        "own",
        {
            **_grant(["contacts", "interactions", "opportunities", "orders", "contracts"], _WORK),
            "customers": ("read", "create", "update", "export"),
            "tags": ("read",),
            "products": ("read",),
            "tickets": ("read", "create"),
            "segments": ("read",),
            "analytics": ("read",),
        },
    ),
    BuiltinRole(
        "marketing",
        N_("Marketing"),
        N_("Plans campaigns to segments across the whole customer base."),
        "all",
        {
            **_grant(["campaigns", "segments", "loyalty"], _ALL),
            "customers": ("read", "export"),
            "contacts": ("read",),
            "tags": ("read", "create", "update"),
            "interactions": ("read", "create"),
            "products": ("read",),
            "analytics": ("read",),
            "reports": ("read", "export"),
        },
    ),
    BuiltinRole(
        "service",
        N_("Service"),
        N_("Answers any caller: finds every customer, handles tickets and logs interactions."),
        "all",
        {
            "customers": ("read", "update"),
            "contacts": ("read", "create", "update"),
            "tags": ("read",),
            "interactions": _WORK,
            # agents work tickets; setting up the desk (SLA, calendar, queues, stations,
            # routing rules) is "manage", for managers and administrators
            "tickets": _WORK,
            "products": ("read",),
            "orders": ("read",),
            "contracts": ("read",),
            "loyalty": ("read",),
            "analytics": ("read",),
        },
    ),
    BuiltinRole(
        "analyst",
        N_("Analyst"),
        N_("Reads the whole customer base and runs the mining and analysis centre."),
        "all",
        {
            **_grant(
                [
                    "customers",
                    "contacts",
                    "tags",
                    "interactions",
                    "products",
                    "opportunities",
                    "orders",
                    "contracts",
                    "tickets",
                    "campaigns",
                    "loyalty",
                ],
                ("read",),
            ),
            "segments": ("read", "create", "update", "delete", "export"),
            "analytics": _ALL,
            "reports": ("read", "create", "export"),
        },
    ),
)

BUILTIN_ROLE_NAMES: Final[tuple[str, ...]] = tuple(role.name for role in BUILTIN_ROLES)


def builtin_role(name: str) -> BuiltinRole:
    for role in BUILTIN_ROLES:
        if role.name == name:
            return role
    raise KeyError(name)
