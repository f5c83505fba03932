"""Translations (Babel catalogs for zh-CN and en) and locale-aware formatting.

The ``.po`` catalogs are compiled in memory when first used, so the repository holds no generated
``.mo`` files and a fresh checkout needs no build step.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from guanxi.config import SUPPORTED_LOCALES

CATALOG_DIR = Path(__file__).parent / "i18n"
DOMAIN = "messages"
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}

_current_locale: ContextVar[str] = ContextVar("guanxi_locale", default="en")
_current_zone: ContextVar[ZoneInfo | None] = ContextVar("guanxi_zone", default=None)


def catalog_path(locale: str) -> Path:
    return CATALOG_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> NullTranslations:
    path = catalog_path(locale)
    if locale not in SUPPORTED_LOCALES or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def activate(locale: str, zone: ZoneInfo) -> None:
    """Use ``locale`` and ``zone`` for what is rendered next in this request or task."""
    _current_locale.set(locale if locale in SUPPORTED_LOCALES else "en")
    _current_zone.set(zone)


def current_locale() -> str:
    return _current_locale.get()


def gettext(message: str) -> str:
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(current_locale()).pgettext(context, message))


def translate_template(template: str, params: dict[str, object]) -> str:
    """Translate an English message template, then fill in its values."""
    text = gettext(template)
    return str(text.format(**params)) if params else str(text)


def negotiate(accept_language: str | None, default: str) -> str:
    """The best supported locale for an Accept-Language header (any Chinese tag means zh_CN)."""
    if accept_language:
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("zh"):
                return "zh_CN"
            if tag.startswith("en"):
                return "en"
    return default


def _zone() -> ZoneInfo:
    return _current_zone.get() or ZoneInfo("UTC")


def _babel_locale() -> str:
    return current_locale()


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_zone()).date()
    # ISO dates read the same in both languages and sort as text (2026-11-23)
    return format_date(value, "yyyy-MM-dd", locale=_babel_locale())


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value.astimezone(_zone()), "yyyy-MM-dd HH:mm", locale=_babel_locale())


def fmt_money(value: Decimal | int | float | None, currency: str = "CNY") -> str:
    if value is None:
        return ""
    return format_currency(value, currency, locale=_babel_locale())


def fmt_number(value: Decimal | int | float | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale=_babel_locale())
