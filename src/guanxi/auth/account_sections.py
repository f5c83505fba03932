"""What other domains add to the user's own account page: a section each, shown to users whose
role may read the section's resource (the touch centre's calendar address, for one).

The auth domain sits below every other, so it never imports them; their registering modules are
listed here and imported the first time the account page is drawn, as
``customers.extensions.EXTENSION_MODULES`` are.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.config import Settings

SECTION_MODULES: tuple[str, ...] = ("guanxi.interactions.followups.account_sections",)

# (session, settings, user) -> the section template's context
SectionLoader = Callable[[Session, Settings, User], dict[str, Any]]


@dataclass(frozen=True)
class Section:
    """A part of the account page, shown to users who may read ``resource``."""

    name: str
    template: str
    resource: str
    load: SectionLoader
    position: int = 100


@dataclass(frozen=True)
class ShownSection:
    name: str
    template: str
    context: dict[str, Any]


_sections: dict[str, Section] = {}
_loaded = False


def load() -> None:
    """Import every section module once, so its registrations are in place."""
    global _loaded
    if _loaded:
        return
    for module in SECTION_MODULES:
        importlib.import_module(module)
    _loaded = True


def register_section(section: Section) -> None:
    _sections[section.name] = section


def sections(session: Session, settings: Settings, user: User) -> list[ShownSection]:
    """The sections ``user`` may see on their account page, in order, with their contents."""
    load()
    chosen = sorted(_sections.values(), key=lambda s: (s.position, s.name))
    return [
        ShownSection(s.name, s.template, s.load(session, settings, user))
        for s in chosen
        if user.can(s.resource, "read")
    ]
