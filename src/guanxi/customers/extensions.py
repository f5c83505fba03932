"""What other domains add to the customer record: panels on the 360 page, and (through
``merge.register_mover``, ``privacy.register_section`` and ``timeline.register``) their records
moving on a merge, appearing in the personal-data export and on the timeline.

The customer domain never imports the domains built on it. Their registering modules are listed
here and imported the first time a customer feature needs them, as ``JOB_MODULES`` and
``DEMO_MODULES`` are, so the web app, the CLI and the jobs all see the same registrations.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers.models import Customer

EXTENSION_MODULES: tuple[str, ...] = (
    "guanxi.sales.customer_records",
    "guanxi.analytics.customer_records",
    "guanxi.analytics.list_filters",
    "guanxi.interactions.customer_records",
    "guanxi.interactions.timeline_sources",
    "guanxi.interactions.followups.customer_records",
    "guanxi.marketing.segments.list_filter",
    "guanxi.service_desk.customer_records",
)

# (session, actor, customer) -> the panel template's context
PanelLoader = Callable[[Session, User, Customer], dict[str, Any]]


@dataclass(frozen=True)
class Panel:
    """A section of the 360 page, shown to users who may read ``resource``."""

    name: str
    template: str
    resource: str
    load: PanelLoader
    position: int = 100


@dataclass(frozen=True)
class ShownPanel:
    name: str
    template: str
    context: dict[str, Any]


_panels: dict[str, Panel] = {}
_loaded = False


def load() -> None:
    """Import every extension module once, so its registrations are in place."""
    global _loaded
    if _loaded:
        return
    for module in EXTENSION_MODULES:
        importlib.import_module(module)
    _loaded = True


def register_panel(panel: Panel) -> None:
    _panels[panel.name] = panel


def panels(session: Session, actor: User, customer: Customer) -> list[ShownPanel]:
    """The panels ``actor`` may see for ``customer``, in page order, with their contents."""
    load()
    chosen = sorted(_panels.values(), key=lambda p: (p.position, p.name))
    return [
        ShownPanel(p.name, p.template, p.load(session, actor, customer))
        for p in chosen
        if actor.can(p.resource, "read")
    ]
