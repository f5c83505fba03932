"""The report in one reader's language: translated labels and values written as text (money in
the company's currency, shares as percentages), for the PDF and the e-mail. The workbook keeps
numbers as numbers and uses only the translations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel.numbers import format_currency, format_decimal, format_percent

from guanxi.analytics.reports.tables import Cell, Column, Kind
from guanxi.web import i18n

EMPTY = "—"


@dataclass(frozen=True)
class Words:
    locale: str
    currency: str

    @property
    def chinese(self) -> bool:
        return self.locale.startswith("zh")

    def _(self, message: str, **values: Any) -> str:
        text = i18n.translations(self.locale).gettext(message)
        return text.format(**values) if values else text

    def header(self, column: Column) -> str:
        return self._(column.header, **column.values)

    def cell(self, value: Any, column: Column) -> str:
        """A table cell as text: a ``Cell`` carries its own kind, others take the column's."""
        if isinstance(value, Cell):
            if value.kind == "label":
                return self._(value.value, **value.values)
            return self.value(value.value, value.kind)
        return self.value(value, column.kind)

    def value(self, value: Any, kind: Kind) -> str:
        if value is None or value == "":
            return EMPTY
        if kind == "label":
            return self._(str(value))
        if kind == "text":
            return str(value)
        if kind == "int":
            return format_decimal(int(value), format="#,##0", locale=self.locale)
        if kind == "money":
            return format_currency(value, self.currency, locale=self.locale)
        if kind == "share":
            return format_percent(value, format="#,##0.0%", locale=self.locale)
        return format_decimal(value, format="#,##0.###", locale=self.locale)
