"""The demo company's catalogue: a home-appliance and electronics retailer and distributor (家电
数码) that also sells installation, cleaning and extended-warranty services.

Prices and costs are what a Chinese retailer of this kind would plausibly carry: phones and
laptops at thin margins (about 11%), appliances at 20-35%, accessories and services at 40-60%.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    name: str
    category: str
    list_price: Decimal
    unit_cost: Decimal
    unit: str
    is_active: bool = True

    @property
    def margin(self) -> float:
        """Share of the list price left after cost."""
        return float((self.list_price - self.unit_cost) / self.list_price)


AIR = "空调"
FRIDGE = "冰箱冷柜"
WASH = "洗衣机"
TV = "电视显示"
KITCHEN = "厨房电器"
HOME = "生活电器"
MOBILE = "手机数码"
COMPUTER = "电脑办公"
SMART = "智能家居"
PARTS = "配件耗材"
SERVICE = "服务"

CATEGORIES = (AIR, FRIDGE, WASH, TV, KITCHEN, HOME, MOBILE, COMPUTER, SMART, PARTS, SERVICE)

# (sku, name, category, list price, unit cost, unit[, active])
_ROWS: tuple[
    tuple[str, str, str, str, str, str] | tuple[str, str, str, str, str, str, bool], ...
] = (
    ("AC-1501", "1.5匹 新一级能效 变频壁挂式空调", AIR, "3299", "2480", "台"),
    ("AC-1001", "大1匹 变频壁挂式空调", AIR, "2599", "1950", "台"),
    ("AC-3001", "3匹 新一级能效 立式柜机空调", AIR, "6999", "5100", "台"),
    ("AC-8001", "家用中央空调 一拖三套装", AIR, "21999", "15400", "套"),
    ("AC-0901", "移动空调 小1匹", AIR, "1699", "1190", "台"),
    ("AC-1502", "1.5匹 定频壁挂式空调 (旧款)", AIR, "2199", "1720", "台", False),
    ("RF-0218", "双门冰箱 218升", FRIDGE, "1499", "1150", "台"),
    ("RF-0500", "十字对开门冰箱 500升", FRIDGE, "4999", "3650", "台"),
    ("RF-0465", "法式多门冰箱 465升", FRIDGE, "6999", "4900", "台"),
    ("RF-0400", "嵌入式冰箱 400升", FRIDGE, "8999", "6300", "台"),
    ("RF-3000", "商用卧式冷柜 300升", FRIDGE, "2399", "1800", "台"),
    ("WM-1001", "滚筒洗衣机 10公斤", WASH, "2799", "2050", "台"),
    ("WM-1002", "洗烘一体机 10公斤", WASH, "3999", "2900", "台"),
    ("WM-0801", "波轮洗衣机 8公斤", WASH, "1199", "930", "台"),
    ("WM-1003", "热泵干衣机 10公斤", WASH, "4599", "3300", "台"),
    ("WM-0301", "迷你内衣洗衣机 3公斤", WASH, "899", "560", "台"),
    ("TV-5501", "55英寸 4K 智能电视", TV, "2999", "2450", "台"),
    ("TV-6501", "65英寸 4K 智能电视", TV, "4299", "3500", "台"),
    ("TV-7501", "75英寸 MiniLED 电视", TV, "7999", "6100", "台"),
    ("TV-8501", "85英寸 会议平板", TV, "12999", "8800", "台"),
    ("TV-3201", "32英寸 高清电视 (停产)", TV, "999", "820", "台", False),
    ("PC-2701", "27英寸 4K 显示器", TV, "1899", "1450", "台"),
    ("KT-2301", "变频微波炉 23升", KITCHEN, "699", "430", "台"),
    ("KT-0401", "IH 电饭煲 4升", KITCHEN, "599", "330", "台"),
    ("KT-1001", "侧吸式油烟机", KITCHEN, "2899", "1850", "台"),
    ("KT-1002", "嵌入式燃气灶", KITCHEN, "1599", "980", "台"),
    ("KT-1301", "嵌入式洗碗机 13套", KITCHEN, "4999", "3400", "台"),
    ("KT-5001", "蒸烤一体机 50升", KITCHEN, "3999", "2600", "台"),
    ("HA-0101", "无线吸尘器", HOME, "1999", "1200", "台"),
    ("HA-0102", "扫地机器人 自动集尘", HOME, "2999", "2100", "台"),
    ("HA-0201", "空气净化器", HOME, "1699", "980", "台"),
    ("HA-0202", "除湿机 20升", HOME, "1499", "950", "台"),
    ("HA-0301", "高速吹风机", HOME, "599", "280", "个"),
    ("HA-0401", "电热水器 60升", HOME, "1599", "1050", "台"),
    ("HA-0402", "即热式饮水机", HOME, "899", "520", "台"),
    ("MB-0256", "5G 智能手机 256GB", MOBILE, "3999", "3560", "部"),
    ("MB-0512", "5G 智能手机 512GB", MOBILE, "5999", "5330", "部"),
    ("MB-1101", "平板电脑 11英寸", MOBILE, "2499", "2180", "台"),
    ("MB-0201", "真无线降噪耳机", MOBILE, "899", "520", "副"),
    ("MB-0301", "智能手表", MOBILE, "1299", "900", "块"),
    ("MB-0401", "移动电源 20000mAh", MOBILE, "169", "95", "个"),
    ("PC-1401", "轻薄笔记本 14英寸", COMPUTER, "5499", "4900", "台"),
    ("PC-1601", "游戏笔记本 16英寸", COMPUTER, "8999", "7950", "台"),
    ("PC-1301", "轻薄笔记本 13英寸 (上一代)", COMPUTER, "4599", "4100", "台", False),
    ("PC-0501", "办公台式机", COMPUTER, "3999", "3300", "台"),
    ("PC-0601", "激光打印一体机", COMPUTER, "1299", "950", "台"),
    ("PC-0701", "无线键鼠套装", COMPUTER, "199", "105", "套"),
    ("SM-0101", "智能门锁 人脸识别", SMART, "1999", "1150", "把"),
    ("SM-0201", "家用监控摄像头", SMART, "299", "160", "个"),
    ("SM-0301", "智能音箱", SMART, "399", "240", "个"),
    ("SM-0401", "智能灯具套装", SMART, "899", "520", "套"),
    ("SM-0501", "智能窗帘电机", SMART, "699", "380", "个"),
    ("PT-0101", "空调安装支架 不锈钢", PARTS, "129", "75", "个"),
    ("PT-0201", "净水器滤芯套装", PARTS, "399", "160", "套"),
    ("PT-0301", "洗衣机加高底座", PARTS, "99", "55", "个"),
    ("PT-0401", "HDMI 2.1 线缆 2米", PARTS, "59", "25", "根"),
    ("PT-0501", "空气净化器滤网", PARTS, "299", "130", "片"),
    ("SV-0101", "空调安装服务", SERVICE, "200", "120", "次"),
    ("SV-0201", "家电延保 1年", SERVICE, "299", "130", "份"),
    ("SV-0301", "家电延保 3年", SERVICE, "699", "300", "份"),
    ("SV-0401", "家电深度清洗", SERVICE, "180", "90", "次"),
    ("SV-0501", "企业设备年度维保", SERVICE, "19800", "11000", "年"),
    ("SV-0601", "旧机回收服务", SERVICE, "50", "40", "次"),
)

CATALOG: tuple[CatalogItem, ...] = tuple(
    CatalogItem(
        row[0],
        row[1],
        row[2],
        Decimal(row[3]),
        Decimal(row[4]),
        row[5],
        len(row) == 6 or bool(row[-1]),
    )
    for row in _ROWS
)

# products an ERP also knows, so an upsert by external id finds them
EXTERNAL_IDS = {item.sku: f"ERP-{n:05d}" for n, item in enumerate(CATALOG[::3], start=10001)}

# big-ticket appliances a person often buys an extended warranty or installation with
WARRANTY_CATEGORIES = frozenset({AIR, FRIDGE, WASH, TV, KITCHEN})
WARRANTY_SKUS = frozenset({"SV-0101", "SV-0201", "SV-0301"})
# sold to organisations only
BUSINESS_ONLY_SKUS = frozenset({"SV-0501", "TV-8501"})

# what each kind of buyer tends to buy: category weights before a buyer's own taste
PERSON_TASTE = {
    AIR: 8,
    FRIDGE: 6,
    WASH: 6,
    TV: 6,
    KITCHEN: 8,
    HOME: 10,
    MOBILE: 10,
    COMPUTER: 5,
    SMART: 6,
    PARTS: 6,
    SERVICE: 5,
}
BUSINESS_TASTE = {
    AIR: 10,
    FRIDGE: 4,
    WASH: 2,
    TV: 8,
    KITCHEN: 2,
    HOME: 4,
    MOBILE: 6,
    COMPUTER: 12,
    SMART: 3,
    PARTS: 3,
    SERVICE: 5,
}
DISTRIBUTOR_TASTE = {
    AIR: 10,
    FRIDGE: 8,
    WASH: 8,
    TV: 8,
    KITCHEN: 8,
    HOME: 8,
    MOBILE: 6,
    COMPUTER: 4,
    SMART: 4,
    PARTS: 6,
    SERVICE: 1,
}
