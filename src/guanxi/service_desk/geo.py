"""Where a customer is, found offline: their province, city and district (省, 市, 区/县) are
looked up in the table of Chinese administrative divisions with coordinates that the ``cpca``
package ships (adcodes.csv: every province, prefecture and county with its WGS-84 centre), or
coordinates stored on the customer are used as they are. Nothing is fetched over the network.

Only the data file is read, straight from the installed distribution: importing ``cpca`` itself
would load pandas and build its own matcher, which routing does not need.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distribution
from pathlib import Path
from typing import Any, Final, Protocol

DATA_DISTRIBUTION: Final = "cpca"
DIVISIONS_FILE: Final = "cpca/resources/adcodes.csv"
NATIONS_FILE: Final = "cpca/resources/56_nations.csv"

EARTH_RADIUS_KM: Final = 6371.0088  # the mean radius (IUGG), as geodesy libraries use

PROVINCE, CITY, COUNTY = 0, 1, 2

# Suffixes people leave off: "上海" for 上海市, "广西" for 广西壮族自治区, "浦东" for 浦东新区.
_PROVINCE_SUFFIX = re.compile(r"(特别行政区|自治区|省|市)$")
_CITY_SUFFIX = re.compile(r"(自治州|地区|市|盟)$")
_COUNTY_SUFFIX = re.compile(r"(自治县|自治旗|新区|林区|特区|区|县|市|旗)$")
# a name too short to stand alone once its suffix is gone (区 of 城区, 县 of 和县)
_MIN_KEY = 2


class Locatable(Protocol):
    """What locating needs of a customer (``guanxi.customers.models.Customer`` has it)."""

    region: str
    city: str
    district: str
    address: str
    custom_fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Division:
    """A province, prefecture-level city or county, by its six-digit administrative code."""

    adcode: str
    name: str
    level: int
    latitude: float
    longitude: float

    @property
    def prefix(self) -> str:
        """The part of the code that every division inside this one shares."""
        return self.adcode[: 2 * (self.level + 1)]

    def contains(self, other: Division) -> bool:
        return other.adcode.startswith(self.prefix)


@dataclass(frozen=True)
class Gazetteer:
    """The divisions by code, and by every name a person may write for them."""

    by_code: Mapping[str, Division]
    by_key: Mapping[str, tuple[Division, ...]]
    # keys that may be matched inside free text (counties only by their full names, so that
    # "南京东路" in a Shanghai street address does not read as a county)
    text_keys: frozenset[str]
    longest_key: int


def _level(code: str) -> int:
    if code.endswith("0000"):
        return PROVINCE
    if code.endswith("00"):
        return CITY
    return COUNTY


def _strip_nations(name: str, nations: Iterable[str]) -> str:
    """延边朝鲜族 -> 延边, 黔东南苗族侗族 -> 黔东南: autonomous areas are named for peoples."""
    changed = True
    while changed:
        changed = False
        for nation in nations:
            if name.endswith(nation) and len(name) - len(nation) >= _MIN_KEY:
                name = name[: -len(nation)]
                changed = True
    return name


def short_name(name: str, level: int, nations: Iterable[str] = ()) -> str:
    """The name without its administrative suffix, as people commonly write it."""
    pattern = (_PROVINCE_SUFFIX, _CITY_SUFFIX, _COUNTY_SUFFIX)[level]
    stripped = pattern.sub("", name)
    stripped = _strip_nations(stripped, nations)
    if stripped.endswith("族") and len(stripped) > _MIN_KEY:  # 维吾尔 of 新疆维吾尔, 壮 of 广西壮
        stripped = _strip_nations(stripped, ("壮族", "回族", "维吾尔"))
    return stripped if len(stripped) >= _MIN_KEY else name


def _read(member: str) -> str:
    path = Path(str(distribution(DATA_DISTRIBUTION).locate_file(member)))
    return path.read_text(encoding="utf-8")


@cache
def gazetteer() -> Gazetteer:
    """The table, read once per process (about 3,500 rows, a few milliseconds)."""
    nations = sorted(
        (line.strip() for line in _read(NATIONS_FILE).splitlines() if line.strip()),
        key=len,
        reverse=True,
    )
    by_code: dict[str, Division] = {}
    for row in csv.DictReader(io.StringIO(_read(DIVISIONS_FILE))):
        if not row["latitude"] or not row["longitude"]:
            continue  # a few placeholder "市辖区" rows carry no coordinates
        code = row["adcode"][:6]
        by_code[code] = Division(
            adcode=code,
            name=row["name"],
            level=_level(code),
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
        )
    by_key: dict[str, list[Division]] = {}
    text_keys: set[str] = set()
    for division in by_code.values():
        if division.name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue  # grouping rows, not places anyone names
        short = short_name(division.name, division.level, nations)
        for key in {division.name, short}:
            by_key.setdefault(key, []).append(division)
        text_keys.add(division.name)
        if division.level != COUNTY:
            text_keys.add(short)
    return Gazetteer(
        by_code=by_code,
        by_key={key: _outermost(found) for key, found in by_key.items()},
        text_keys=frozenset(text_keys),
        longest_key=max(len(key) for key in by_key),
    )


def _outermost(divisions: list[Division]) -> tuple[Division, ...]:
    """One name for a city and a county inside it (乌鲁木齐 for 乌鲁木齐市 and 乌鲁木齐县,
    吉林 for the province and its city) means the larger one."""
    return tuple(d for d in divisions if not any(o is not d and o.contains(d) for o in divisions))


def _mentions_in(text: str, table: Gazetteer) -> list[tuple[Division, ...]]:
    """Division names in free text, the longest name first at each place."""
    found: list[tuple[Division, ...]] = []
    start = 0
    while start < len(text):
        for length in range(min(table.longest_key, len(text) - start), _MIN_KEY - 1, -1):
            piece = text[start : start + length]
            if piece in table.text_keys:
                found.append(table.by_key[piece])
                start += length
                break
        else:
            start += 1
    return found


def _mentions_of_field(text: str, table: Gazetteer) -> list[tuple[Division, ...]]:
    """A province, city or district field: the whole of it is a name, with or without its
    suffix ("浦东" in the district field is 浦东新区); else names found inside it."""
    text = re.sub(r"\s+", "", text)
    if not text:
        return []
    whole = table.by_key.get(text)
    return [whole] if whole else _mentions_in(text, table)


def resolve(*texts: str, address: str = "") -> Division | None:
    """The most specific division that the given names agree on.

    Each name (a field, or a name found in the address) may fit several divisions (朝阳区 is in
    Beijing and in Changchun). Every candidate scores the names that it lies within or is; the
    best score wins, deeper divisions before their parents. When two places tie (just "朝阳区"),
    the answer is what they share, or nothing rather than a guess.
    """
    table = gazetteer()
    mentions: list[tuple[Division, ...]] = []
    for text in texts:
        mentions.extend(_mentions_of_field(text, table))
    mentions.extend(_mentions_in(re.sub(r"\s+", "", address), table))
    if not mentions:
        return None
    candidates = {division for mention in mentions for division in mention}

    def score(candidate: Division) -> int:
        return sum(any(named.contains(candidate) for named in mention) for mention in mentions)

    ranked = sorted(candidates, key=lambda d: (score(d), d.level), reverse=True)
    best_score, best_level = score(ranked[0]), ranked[0].level
    tied = [d for d in ranked if score(d) == best_score and d.level == best_level]
    if len(tied) == 1:
        return tied[0]
    for level in range(best_level - 1, PROVINCE - 1, -1):
        shared = {d.adcode[: 2 * (level + 1)] for d in tied}
        if len(shared) == 1:
            return table.by_code.get(shared.pop().ljust(6, "0"))
    return None


def _coordinate(value: Any, limit: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def stored_coordinates(custom_fields: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """Coordinates kept on the customer's record (custom fields ``latitude`` and
    ``longitude``), when both are there and valid."""
    if not custom_fields:
        return None
    latitude = _coordinate(custom_fields.get("latitude"), 90.0)
    longitude = _coordinate(custom_fields.get("longitude"), 180.0)
    if latitude is None or longitude is None:
        return None
    return latitude, longitude


def locate_customer(customer: Locatable) -> tuple[float, float] | None:
    """(latitude, longitude) of the customer: the coordinates stored on the record, else the
    centre of the most specific division their region, city, district and address name."""
    stored = stored_coordinates(customer.custom_fields)
    if stored is not None:
        return stored
    division = resolve(
        customer.region or "",
        customer.city or "",
        customer.district or "",
        address=customer.address or "",
    )
    if division is None:
        return None
    return division.latitude, division.longitude


def haversine_km(latitude1: float, longitude1: float, latitude2: float, longitude2: float) -> float:
    """Great-circle distance in kilometres on a sphere of the Earth's mean radius."""
    phi1, phi2 = math.radians(latitude1), math.radians(latitude2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(longitude2 - longitude1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
