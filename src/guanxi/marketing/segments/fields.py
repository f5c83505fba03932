"""The segment explorer's field catalogue: every condition a segment can hold, what it is called,
which input it needs and which customer-list URL parameters it writes.

A segment is kept as those parameters (``customers.search.filter_from_query`` reads them), so the
catalogue is the vocabulary: profile fields, tags, owner, team, creation dates, custom fields, and
the mining centre's score and order filters (``analytics.list_filters``).

Input types: ``choice`` (one value), ``multi_choice`` (several, comma-separated), ``number_range``
(``<key>_min`` at least, ``<key>_under`` less than), ``date_range`` (two days, both whole),
``month`` (``2026-03``), ``text`` (equal to), ``tag`` (has every chosen tag), ``user`` and
``team`` (an id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from guanxi.analytics import lifecycle
from guanxi.analytics.list_filters import CHOICE_FILTERS, RANGE_FILTERS
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.visibility import reachable_users
from guanxi.customers import custom_fields, tags
from guanxi.customers.labels import CHOICE_LABELS, FIELD_LABELS
from guanxi.customers.search import EQUALITY_FILTERS, common_values
from guanxi.errors import N_
from guanxi.sales.labels import ORDER_CHANNEL_LABELS
from guanxi.web.i18n import gettext

GROUPS: dict[str, str] = {
    "profile": N_("Profile"),
    "people": N_("Tags, owner and team"),
    "scores": N_("Scores of the latest run"),
    "orders": N_("Orders"),
    "custom": N_("Custom fields"),
}

# Customer columns the explorer leaves out: the score filters (tier, stage) give the current
# values, which these stored columns do not follow; an external id picks one record, not a group.
_NOT_OFFERED = frozenset({"value_tier", "lifecycle_stage", "external_id"})
# text fields whose values in use are offered as suggestions while typing
SUGGESTED = ("region", "city", "source_channel")
MAX_SUGGESTIONS = 200


@dataclass(frozen=True)
class Field:
    """One condition of the explorer."""

    key: str
    label: str  # English msgid
    type: str
    group: str
    params: tuple[str, ...]
    choices: tuple[tuple[str, str], ...] = ()  # (value, label); labels are msgids unless raw
    raw_labels: bool = False  # choice labels are data (tag names, users), not msgids
    unit: str = ""  # a number range's money | share | count
    suggestions: tuple[str, ...] = ()

    @property
    def repeatable(self) -> bool:
        return self.type == "tag"

    def choice_label(self, value: str) -> str:
        label = dict(self.choices).get(value, value)
        return label if self.raw_labels else gettext(label)


def _choices(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(labels.items())


def _profile_fields() -> list[Field]:
    fields = [
        Field("q", N_("Name, phone or e-mail contains"), "text", "profile", ("q",)),
    ]
    for name in EQUALITY_FILTERS:
        if name in _NOT_OFFERED:
            continue
        labels = CHOICE_LABELS.get(name)
        if labels:
            fields.append(
                Field(name, FIELD_LABELS[name], "choice", "profile", (name,), _choices(labels))
            )
        else:
            fields.append(Field(name, FIELD_LABELS[name], "text", "profile", (name,)))
    fields.append(
        Field("created", N_("Created on"), "date_range", "profile", ("created_from", "created_to"))
    )
    return fields


def _score_fields() -> list[Field]:
    fields = [
        Field(c.param, c.label, "multi_choice", "scores", (c.param,), _choices(c.choices))
        for c in CHOICE_FILTERS
    ]
    fields += [
        Field(
            r.name,
            r.label,
            "number_range",
            "scores",
            (f"{r.name}_min", f"{r.name}_under"),
            unit=r.kind,
        )
        for r in RANGE_FILTERS
    ]
    fields.append(Field("cohort", N_("First purchase in"), "month", "scores", ("cohort",)))
    fields.append(
        Field(
            "stage_before",
            N_("Stage in the run before"),
            "multi_choice",
            "scores",
            ("stage_before",),
            _choices(lifecycle.STAGES),
        )
    )
    return fields


def _order_fields() -> list[Field]:
    return [
        Field(
            "bought",
            N_("Bought in the period"),
            "date_range",
            "orders",
            ("bought_from", "bought_to"),
        ),
        Field(
            "channel",
            N_("Bought through"),
            "choice",
            "orders",
            ("channel",),
            _choices(ORDER_CHANNEL_LABELS),
        ),
    ]


def _custom_fields(session: Session) -> list[Field]:
    fields = []
    for definition in custom_fields.definitions(session, "customer"):
        key = f"cf.{definition.key}"
        if definition.field_type == "choice":
            choices = tuple((str(c), str(c)) for c in definition.choices)
            fields.append(
                Field(key, definition.label, "choice", "custom", (key,), choices, raw_labels=True)
            )
        else:
            fields.append(Field(key, definition.label, "text", "custom", (key,)))
    return fields


def catalogue(session: Session) -> list[Field]:
    """Every field a segment can use, the same for every user (what a definition may hold)."""
    tag_names = tuple((t.name, t.name) for t, _ in tags.list_tags(session=session))
    people = [
        Field("tag", FIELD_LABELS["tags"], "tag", "people", ("tag",), tag_names, raw_labels=True),
        Field("owner_id", FIELD_LABELS["owner_id"], "user", "people", ("owner_id",)),
        Field("team_id", FIELD_LABELS["team_id"], "team", "people", ("team_id",)),
    ]
    return [
        *_profile_fields(),
        *people,
        *_score_fields(),
        *_order_fields(),
        *_custom_fields(session),
    ]


def by_param(fields: Iterable[Field]) -> dict[str, Field]:
    """Each URL parameter with the field that writes it."""
    return {param: f for f in fields for param in f.params}


def for_viewer(
    session: Session,
    actor: User,
    fields: list[Field],
    pairs: Sequence[Sequence[str]] = (),
    *,
    suggest: bool = True,
) -> list[Field]:
    """The catalogue as the explorer offers it to ``actor``: the owners they reach and the teams
    to choose from, and (with ``suggest``) values for text fields from their own customers.
    An owner already in ``pairs`` stays offered even when out of reach."""
    chosen = {k: v for k, v in pairs}
    users = {str(u.id): u.label for u in reachable_users(session, actor)}
    if chosen.get("owner_id") and chosen["owner_id"] not in users:
        owner = session.get(User, int(chosen["owner_id"])) if chosen["owner_id"].isdigit() else None
        users[chosen["owner_id"]] = owner.label if owner else chosen["owner_id"]
    teams = tuple((str(t.id), t.name) for t in auth_service.list_teams(session=session))
    suggestions = _suggestions(session, actor) if suggest else {}
    shown = []
    for field in fields:
        if field.type == "user":
            field = replace(field, choices=tuple(users.items()), raw_labels=True)
        elif field.type == "team":
            field = replace(field, choices=teams, raw_labels=True)
        elif field.key in suggestions:
            field = replace(field, suggestions=suggestions[field.key])
        shown.append(field)
    return shown


def _suggestions(session: Session, actor: User) -> dict[str, tuple[str, ...]]:
    """The most used values of the suggested text fields among the customers ``actor`` sees."""
    return {name: common_values(session, actor, name, MAX_SUGGESTIONS) for name in SUGGESTED}


def as_json(fields: Iterable[Field]) -> list[dict[str, Any]]:
    """The catalogue for the explorer's script, in the reader's language."""
    return [
        {
            "key": f.key,
            "label": gettext(f.label),
            "type": f.type,
            "group": f.group,
            "params": list(f.params),
            "choices": [[value, f.choice_label(value)] for value, _ in f.choices],
            "unit": f.unit,
            "suggestions": list(f.suggestions),
        }
        for f in fields
    ]


def groups_json() -> list[list[str]]:
    return [[key, gettext(label)] for key, label in GROUPS.items()]


def describe(fields: Iterable[Field], pairs: Sequence[Sequence[str]]) -> list[str]:
    """A definition in words, one line per condition: ``City: 上海``, ``CLV ≥ 1000``."""
    params = by_param(fields)
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    lines = []
    seen: set[str] = set()
    for key, _ in pairs:
        field = params.get(key)
        if field is None:
            lines.append(f"{key} = {', '.join(values[key])}")
            seen.add(key)
            continue
        if field.key in seen:
            continue
        seen.add(field.key)
        lines.append(_describe_field(field, values))
    return lines


def _describe_field(field: Field, values: Mapping[str, list[str]]) -> str:
    label = gettext(field.label)
    if field.type in ("number_range", "date_range"):
        low, high = (values.get(p, [""])[0] for p in field.params)
        if field.type == "number_range":
            span = f"{low} – <{high}" if low and high else (f"≥ {low}" if low else f"< {high}")
        else:
            span = f"{low or '…'} – {high or '…'}"
        return f"{label} {span}"
    chosen = [part for value in values[field.params[0]] for part in _parts(field, value)]
    return f"{label}: {', '.join(field.choice_label(c) for c in chosen)}"


def _parts(field: Field, value: str) -> list[str]:
    if field.type == "multi_choice":
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]
