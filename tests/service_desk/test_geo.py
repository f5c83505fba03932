"""Locating customers offline from the administrative-division table that cpca ships, and
great-circle distances checked against known figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from guanxi.service_desk import geo

BEIJING = (39.904211, 116.407394)  # 北京市 in the table
SHANGHAI = (31.230372, 121.473662)  # 上海市


@dataclass
class Place:
    region: str = ""
    city: str = ""
    district: str = ""
    address: str = ""
    custom_fields: dict[str, Any] = field(default_factory=dict)


def test_beijing_to_shanghai_is_about_1068_km():
    distance = geo.haversine_km(*BEIJING, *SHANGHAI)
    assert distance == pytest.approx(1067.3, abs=1.5)
    assert geo.haversine_km(*SHANGHAI, *BEIJING) == pytest.approx(distance)
    assert geo.haversine_km(*BEIJING, *BEIJING) == 0.0


def test_haversine_on_known_arcs():
    # a quarter of a meridian, and half the equator (antipodes: no domain error from rounding)
    quarter = geo.EARTH_RADIUS_KM * 3.141592653589793 / 2
    assert geo.haversine_km(0, 0, 90, 0) == pytest.approx(quarter)
    assert geo.haversine_km(0, 0, 0, 180) == pytest.approx(2 * quarter)
    # one degree of longitude at 60°N is half one at the equator (to within the sphere's curve)
    assert geo.haversine_km(60, 0, 60, 1) == pytest.approx(geo.haversine_km(0, 0, 0, 1) / 2, 0.01)


@pytest.mark.parametrize(
    ("place", "adcode"),
    [
        (Place("上海", "上海市", "浦东新区"), "310115"),
        (Place("上海市", "", "浦东"), "310115"),  # 新区 left off
        (Place("北京", "", "朝阳区"), "110105"),
        (Place("吉林省", "长春", "朝阳"), "220104"),  # the other 朝阳区, by its province
        (Place("广西", "南宁", ""), "450100"),  # 壮族自治区 left off
        (Place("内蒙古", "呼和浩特市", ""), "150100"),
        (Place("新疆", "乌鲁木齐", ""), "650100"),  # the city, not 乌鲁木齐县 inside it
        (Place("", "延边", ""), "222400"),  # 延边朝鲜族自治州
        (Place("", "黔东南", ""), "522600"),  # 黔东南苗族侗族自治州
        (Place("湖北", "武汉", "江夏"), "420115"),
        (Place("广东省", "深圳市", "南山区"), "440305"),
        (Place(address="上海市黄浦区南京东路100号"), "310101"),  # 南京 here is a street
        (Place(address="浙江省 杭州市 西湖区 文三路 90 号"), "330106"),
        (Place(region="上海市浦东新区"), "310115"),  # a whole address typed in one field
    ],
)
def test_divisions_are_found_with_or_without_suffixes(place: Place, adcode: str):
    found = geo.resolve(place.region, place.city, place.district, address=place.address)
    assert found is not None and found.adcode == adcode
    assert geo.locate_customer(place) == (found.latitude, found.longitude)


def test_an_ambiguous_or_unknown_place_is_not_guessed():
    assert geo.resolve("", "", "朝阳区") is None  # Beijing or Changchun
    assert geo.resolve("Shanghai") is None
    assert geo.locate_customer(Place()) is None
    # two districts of one city named together: the city they share
    both = geo.resolve("", "", "", address="黄浦区 徐汇区")
    assert both is not None and both.adcode == "310100"


def test_coordinates_stored_on_the_customer_come_first():
    stored = Place("北京", "北京市", "", custom_fields={"latitude": "31.2", "longitude": 121.5})
    assert geo.locate_customer(stored) == (31.2, 121.5)
    for broken in ({"latitude": 95, "longitude": 121}, {"latitude": "x", "longitude": 1}, {}):
        assert geo.locate_customer(Place("北京", custom_fields=dict(broken))) == pytest.approx(
            BEIJING
        )


def test_the_table_is_read_once_and_covers_the_country():
    table = geo.gazetteer()
    assert table is geo.gazetteer()
    provinces = [d for d in table.by_code.values() if d.level == geo.PROVINCE]
    assert len(provinces) == 34  # 23 provinces, 5 autonomous regions, 4 municipalities, HK, Macao
    assert all(3 < d.latitude < 54 and 73 < d.longitude < 136 for d in table.by_code.values())
