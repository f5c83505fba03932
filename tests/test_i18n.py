"""Every visible string is translated into zh-CN; dates and money follow the locale."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

import guanxi
from guanxi.web import i18n

PACKAGE = Path(guanxi.__file__).parent
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")


def _source_messages() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map, options, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.fixture(scope="module")
def zh_catalog() -> dict[str, str]:
    # plural messages are keyed by their singular; Chinese has the one form
    with i18n.catalog_path("zh_CN").open("rb") as handle:
        return {
            str(m.id[0] if m.pluralizable else m.id): str(
                m.string[0] if m.pluralizable else m.string
            )
            for m in read_po(handle)
            if m.id
        }


def test_every_visible_string_has_a_chinese_translation(zh_catalog: dict[str, str]):
    messages = _source_messages()
    assert len(messages) > 150
    untranslated = sorted(m for m in messages if not zh_catalog.get(m))
    assert untranslated == [], "run pybabel extract/update (docs/i18n.md) and translate these"


def test_translations_keep_their_placeholders(zh_catalog: dict[str, str]):
    for english, chinese in zh_catalog.items():
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(chinese)), english


def test_money_and_dates_in_each_locale():
    i18n.activate("zh_CN", ZoneInfo("Asia/Shanghai"))
    assert i18n.fmt_money(Decimal("1234.5")) == "¥1,234.50"
    assert i18n.fmt_date(date(2026, 11, 23)) == "2026-11-23"
    # 20:30 UTC is already the next morning in Shanghai
    assert i18n.fmt_datetime(datetime(2026, 11, 23, 20, 30, tzinfo=UTC)) == "2026-11-24 04:30"
    i18n.activate("en", ZoneInfo("UTC"))
    assert i18n.fmt_money(Decimal("1234.5")) == "CN¥1,234.50"
    assert i18n.fmt_number(Decimal("1234567.5")) == "1,234,567.5"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("en-US,en;q=0.8", "en"),
        ("fr-FR", "en"),
        (None, "en"),
    ],
)
def test_browser_language_is_negotiated(header: str | None, expected: str):
    assert i18n.negotiate(header, "en") == expected
