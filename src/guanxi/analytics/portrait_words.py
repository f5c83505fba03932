"""Figures in words for the customer portrait: a sentence is an English msgid with
``{placeholders}`` and typed values, put into words when the page is drawn, so the language and
number formats are the reader's (the portrait is built before the page activates them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from babel.numbers import format_currency, format_decimal, format_percent

from guanxi.errors import N_
from guanxi.web import i18n


class Value(Protocol):
    def render(self, currency: str) -> str: ...


@dataclass(frozen=True)
class Money:
    """An amount in the company currency, in whole units (prose, not an invoice)."""

    amount: Decimal | float

    def render(self, currency: str) -> str:
        return format_currency(
            round(float(self.amount)),
            currency,
            format="¤#,##0",
            locale=i18n.current_locale(),
            currency_digits=False,
        )


@dataclass(frozen=True)
class Percent:
    share: float

    def render(self, currency: str) -> str:
        return format_percent(self.share, locale=i18n.current_locale())


@dataclass(frozen=True)
class Number:
    value: float
    pattern: str = "#,##0"

    def render(self, currency: str) -> str:
        return format_decimal(self.value, format=self.pattern, locale=i18n.current_locale())


def decimal1(value: float) -> Number:
    """A figure with one decimal (2.1 purchases)."""
    return Number(value, "#,##0.0")


# (one, many) for each unit: English needs the singular, Chinese reads the same either way
_DAYS = (N_("1 day"), N_("{n} days"))
_MONTHS = (N_("1 month"), N_("{n} months"))
_YEARS = (N_("1 year"), N_("{n} years"))
_UNDER_A_DAY = N_("less than a day")
_DAYS_PER_MONTH = 30.44
_DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Duration:
    """A span of days as people say it: days up to two months, then months, then years."""

    days: float

    def render(self, currency: str) -> str:
        days = max(self.days, 0.0)
        if days < 1:
            return i18n.gettext(_UNDER_A_DAY)
        count: float
        if days < 60:
            count, pattern, words = round(days), "#,##0", _DAYS
        elif days < 730:
            count, pattern, words = round(days / _DAYS_PER_MONTH), "#,##0", _MONTHS
        else:
            count, pattern, words = round(days / _DAYS_PER_YEAR, 1), "#,##0.#", _YEARS
        if count == 1:
            return i18n.gettext(words[0])
        shown = format_decimal(count, format=pattern, locale=i18n.current_locale())
        return i18n.gettext(words[1]).format(n=shown)


@dataclass(frozen=True)
class Phrase:
    """A sentence: ``text`` is the English msgid, ``values`` fill its placeholders."""

    text: str
    values: dict[str, Value] = field(default_factory=dict)

    def render(self, currency: str) -> str:
        """The sentence in the active language, money in ``currency``."""
        filled = {name: value.render(currency) for name, value in self.values.items()}
        return i18n.gettext(self.text).format(**filled)
