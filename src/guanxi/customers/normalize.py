"""Normalising what people type: phones to E.164, e-mails to lower case, names to a comparison
key, and the search text and grams that make any fragment of a name, phone or e-mail findable.

Phone numbers go through ``phonenumbers`` (Google's libphonenumber); the common shape, an
11-digit mainland mobile with or without +86, takes a checked fast path because the library costs
~15-40 us a number and imports run at tens of thousands of rows a second
(``tests/customers/test_normalize.py`` holds the fast path to the library's answers).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "CN"
_SEPARATORS = re.compile(r"[\s\-().\u3000]")
_MAINLAND_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,63}$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[0-9a-z]+")


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message says why, for the person who typed it."""


def phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """``raw`` as E.164 (``+8613800138000``), or InvalidValue if it is not a possible number."""
    compact = _SEPARATORS.sub("", raw.strip())
    if not compact:
        raise InvalidValue("empty phone number")
    mobile = _MAINLAND_MOBILE.match(compact)
    if mobile:
        return "+86" + mobile.group(1)
    try:
        parsed = phonenumbers.parse(compact, region)
    except NumberParseException as exc:
        raise InvalidValue(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidValue(f"not a possible phone number: {raw!r}")
    return str(phonenumbers.format_number(parsed, PhoneNumberFormat.E164))


def display_phone(number: str, region: str = DEFAULT_REGION) -> str:
    """A stored E.164 number as people write it: nationally at home ("138 0013 8000"),
    internationally otherwise ("+44 20 7946 0958"); anything unparseable as stored."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    style = phonenumbers.PhoneNumberFormat
    home = phonenumbers.region_code_for_number(parsed) == region
    return phonenumbers.format_number(parsed, style.NATIONAL if home else style.INTERNATIONAL)


def email(raw: str) -> str:
    value = raw.strip().lower()
    if not _EMAIL.match(value):
        raise InvalidValue(f"not an e-mail address: {raw!r}")
    return value


def name_key(name: str) -> str:
    """A key under which spellings of one name meet: NFKC (full-width to half-width), lower case,
    no spaces or punctuation."""
    folded = unicodedata.normalize("NFKC", name).lower()
    return "".join(ch for ch in folded if ch.isalnum())


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def grams(*texts: str) -> list[str]:
    """Index terms for names and companies: every CJK character and pair of adjacent characters,
    and every Latin word with its one- and two-letter prefixes.

    Chinese names are two or three characters, too short for trigram indexes, so a two-character
    fragment like 张伟 is found as one bigram term (DESIGN.md, "Search").
    """
    terms: set[str] = set()
    for text in texts:
        if not text:
            continue
        folded = unicodedata.normalize("NFKC", text).lower()
        for run in _CJK_RUN.findall(folded):
            terms.update(run)
            terms.update(run[i : i + 2] for i in range(len(run) - 1))
        for word in _LATIN_WORD.findall(folded):
            terms.add(word)
            terms.add(word[:1])
            terms.add(word[:2])
    return sorted(terms)


def search_text(
    name: str, company: str, phones: list[str], emails: list[str], extra: str = ""
) -> str:
    """What trigram search runs over: Latin names and companies, e-mails, and phones."""
    # Chinese is served by the grams; only text with Latin letters or digits goes in here, and a
    # phone once, as E.164 digits: a national number ("13800138000") is a substring of it
    # ("8613800138000"), so both forms people type are found, at half the indexing cost
    parts = [
        text
        for text in (unicodedata.normalize("NFKC", name).lower(), company.lower(), extra.lower())
        if _LATIN_WORD.search(text)
    ]
    parts.extend(number.lstrip("+") for number in phones)
    parts.extend(emails)
    return " ".join(p for p in parts if p)


def query_terms(fragment: str) -> list[str]:
    """The grams a CJK search fragment must all have (three or more characters: its bigrams)."""
    folded = unicodedata.normalize("NFKC", fragment).lower()
    cjk = "".join(_CJK_RUN.findall(folded))
    if len(cjk) <= 2:
        return [cjk] if cjk else []
    return sorted({cjk[i : i + 2] for i in range(len(cjk) - 1)})


def phone_fragment(fragment: str) -> str | None:
    """The digits of a fragment that looks like part of a phone number ("138 0013", "+86 138")."""
    compact = _SEPARATORS.sub("", fragment.strip())
    if compact.startswith("+"):
        compact = compact[1:]
    return compact if compact.isdigit() and len(compact) >= 3 else None
