"""Customer database benchmark at a million customers (issue 3).

On SQLite, and on PostgreSQL when GUANXI_BENCH_POSTGRES_URL (or GUANXI_TEST_POSTGRES_URL) is set:

- import: a CSV of N customers through the real import path (``guanxi import``'s: parse, map,
  validate row by row, normalise, upsert by external id / e-mail / phone, audit), beside the
  floor: the same customers, phones and e-mails, with the same search fields, written by a raw
  executemany (SQLite) or COPY (PostgreSQL) in transactions of the same size;
- search: API latency p50/p95 of ``GET /api/v1/customers?q=`` for two- and three-character
  Chinese name fragments, 8-digit phone fragments, whole phones written "138 0013 8000", an
  English name fragment and an e-mail fragment, through a real uvicorn server, as a sales
  manager whose team visibility applies;
- lists: p50/p95 of the customer list page (HTML) and of ``GET /api/v1/customers`` filtered by
  city and sorted by name.

The file is generated (seeded, so every run has the same rows): Chinese names drawn from ~130
surnames weighted by frequency and ~200 given-name characters, English names from a few hundred
given names and surnames, companies, cities weighted by size, mobiles in the ways people write
them, e-mails built from the names, tags, and a few per cent of rows that repeat an earlier
customer or are invalid, as real exports have.

Targets from the issue: import >= 20,000 rows/s and within 4x of the floor; search p95 < 50 ms;
list p95 < 100 ms.

    python bench/customers.py [--customers 1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from stores import backends, scratch_database

from guanxi import crypto, schema
from guanxi.app import create_app
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.config import Settings
from guanxi.customers import normalize
from guanxi.customers.transfer import importing
from guanxi.customers.transfer.import_choices import CHOICES
from guanxi.db import Database, make_engine

# wide enough for the table when the output is a file or a pipe
console = Console(width=None if sys.stdout.isatty() else 150)

# ---------------------------------------------------------------- the people in the file


def _words(text: str) -> list[str]:
    return text.split()


# surname and pinyin, in rough order of frequency (weighted 1/(rank + 8) when drawn)
_SURNAMES = [
    pair.split(":")
    for pair in _words(
        "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu "
        "孙:sun 马:ma 朱:zhu 胡:hu 郭:guo 何:he 高:gao 林:lin 罗:luo 郑:zheng 梁:liang 谢:xie "
        "宋:song 唐:tang 许:xu 韩:han 冯:feng 邓:deng 曹:cao 彭:peng 曾:zeng 肖:xiao 田:tian "
        "董:dong 袁:yuan 潘:pan 于:yu 蒋:jiang 蔡:cai 余:yu 杜:du 叶:ye 程:cheng 苏:su 魏:wei "
        "吕:lv 丁:ding 任:ren 沈:shen 姚:yao 卢:lu 姜:jiang 崔:cui 钟:zhong 谭:tan 陆:lu "
        "汪:wang 范:fan 金:jin 石:shi 廖:liao 贾:jia 夏:xia 韦:wei 付:fu 方:fang 白:bai 邹:zou "
        "孟:meng 熊:xiong 秦:qin 邱:qiu 江:jiang 尹:yin 薛:xue 闫:yan 段:duan 雷:lei 侯:hou "
        "龙:long 史:shi 陶:tao 黎:li 贺:he 顾:gu 毛:mao 郝:hao 龚:gong 邵:shao 万:wan 钱:qian "
        "严:yan 覃:qin 武:wu 戴:dai 莫:mo 孔:kong 向:xiang 汤:tang 常:chang 温:wen 康:kang "
        "施:shi 文:wen 牛:niu 樊:fan 葛:ge 邢:xing 安:an 齐:qi 易:yi 乔:qiao 伍:wu 庞:pang "
        "颜:yan 倪:ni 庄:zhuang 聂:nie 章:zhang 鲁:lu 岳:yue 翟:zhai 殷:yin 詹:zhan 申:shen "
        "欧阳:ouyang 司马:sima 上官:shangguan 诸葛:zhuge 东方:dongfang 皇甫:huangfu"
    )
]
_SURNAME_WEIGHTS = [1 / (rank + 8) for rank in range(len(_SURNAMES))]
_GIVEN = list(
    dict(
        pair.split(":")
        for pair in _words(
            "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong "
            "艳:yan 杰:jie 娟:juan 涛:tao 明:ming 超:chao 秀:xiu 霞:xia 平:ping 刚:gang 桂:gui "
            "英:ying 华:hua 玉:yu 兰:lan 萍:ping 红:hong 鹏:peng 飞:fei 建:jian 国:guo 文:wen "
            "斌:bin 宇:yu 浩:hao 凯:kai 欣:xin 怡:yi 晨:chen 雪:xue 梅:mei 琳:lin 婷:ting "
            "慧:hui 佳:jia 俊:jun 帅:shuai 博:bo 晓:xiao 嘉:jia 子:zi 轩:xuan 涵:han 梓:zi "
            "萱:xuan 睿:rui 泽:ze 宁:ning 安:an 然:ran 思:si 雨:yu 彤:tong 可:ke 馨:xin 瑶:yao "
            "诗:shi 琪:qi 悦:yue 昊:hao 天:tian 一:yi 诺:nuo 依:yi 辰:chen 逸:yi 航:hang "
            "铭:ming 瑞:rui 阳:yang 志:zhi 海:hai 峰:feng 波:bo 辉:hui 林:lin 东:dong 亮:liang "
            "成:cheng 龙:long 彬:bin 新:xin 春:chun 秋:qiu 冬:dong 夏:xia 燕:yan 丹:dan 莉:li "
            "倩:qian 颖:ying 璐:lu 蕾:lei 薇:wei 洁:jie 露:lu 晶:jing 莹:ying 琴:qin 云:yun "
            "凤:feng 荣:rong 珍:zhen 淑:shu 惠:hui 芬:fen 玲:ling 翠:cui 琼:qiong 德:de 福:fu "
            "贵:gui 祥:xiang 生:sheng 发:fa 庆:qing 永:yong 宏:hong 家:jia 立:li 忠:zhong "
            "兵:bing 毅:yi 坤:kun 鑫:xin 健:jian 松:song 柏:bai 森:sen 源:yuan 江:jiang 河:he "
            "山:shan 岩:yan 清:qing 正:zheng 光:guang 耀:yao 宗:zong 振:zhen 卫:wei 旭:xu "
            "晖:hui 曦:xi 昕:xin 琦:qi 瑜:yu 璇:xuan 婉:wan 婧:jing 妍:yan 娇:jiao 雯:wen "
            "菲:fei 芸:yun 蓉:rong 茜:qian 姗:shan 娅:ya 楠:nan 欢:huan 乐:le 笑:xiao 美:mei "
            "月:yue 星:xing 豪:hao 哲:zhe 煜:yu 烨:ye 皓:hao 晗:han 钰:yu 锦:jin 程:cheng "
            "远:yuan 达:da 胜:sheng 利:li 学:xue 良:liang 义:yi 仁:ren 和:he 顺:shun 红:hong "
            "秀:xiu 桂:gui 金:jin 银:yin 宝:bao 贤:xian 雅:ya 君:jun 蓓:bei 琳:lin 璐:lu"
        )
    ).items()
)
_ENGLISH_GIVEN = _words(
    "James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel "
    "Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy "
    "Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin "
    "Scott Brandon Benjamin Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry "
    "Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle Ethan Walter Noah Jeremy "
    "Christian Keith Roger Terry Gerald Harold Sean Austin Carl Arthur Lawrence Dylan Jesse "
    "Jordan Bryan Billy Joe Bruce Gabriel Logan Albert Willie Alan Juan Wayne Elijah Randy Roy "
    "Vincent Ralph Eugene Russell Bobby Mason Philip Louis Oliver Lucas Liam Leo Oscar Hugo "
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty "
    "Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah "
    "Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma "
    "Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet Catherine Maria "
    "Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina Joan Evelyn "
    "Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances "
    "Kathryn Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle "
    "Beverly Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Chloe "
    "Mia Amelia Ava Ella Lily Zoe Ruby Ivy Iris Fiona Wendy Tina Vivian Cindy Coco Kevin"
)
_ENGLISH_SURNAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry "
    "Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons "
    "Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West "
    "Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro "
    "Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry "
    "Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez "
    "Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd "
    "Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols "
    "Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce "
    "Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong "
    "Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston "
    "Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Guerrero George "
    "Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper Burke Larson "
    "Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs Obrien "
    "Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims "
    "Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas "
    "Lucas Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler "
    "Mejia Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas"
)
# cities and how many of a thousand customers live there
_CITIES = (
    ("上海", 90), ("北京", 85), ("广州", 60), ("深圳", 60), ("成都", 45), ("杭州", 45),
    ("重庆", 40), ("武汉", 40), ("西安", 35), ("南京", 35), ("天津", 30), ("苏州", 30),
    ("长沙", 25), ("郑州", 25), ("东莞", 22), ("青岛", 22), ("沈阳", 20), ("宁波", 20),
    ("昆明", 18), ("合肥", 18), ("佛山", 18), ("福州", 15), ("厦门", 15), ("济南", 15),
    ("大连", 14), ("哈尔滨", 12), ("长春", 12), ("石家庄", 12), ("南宁", 10), ("贵阳", 10),
    ("南昌", 10), ("太原", 10), ("无锡", 10), ("温州", 9), ("泉州", 8), ("珠海", 8),
    ("中山", 7), ("惠州", 7), ("兰州", 6), ("海口", 5), ("乌鲁木齐", 5), ("呼和浩特", 4),
    ("银川", 3), ("西宁", 3), ("拉萨", 1), ("香港", 4), ("台北", 2), ("新加坡", 2),
)  # fmt: skip
_CITY_NAMES = [c for c, _ in _CITIES]
_CITY_WEIGHTS = [w for _, w in _CITIES]
_BRANDS = _words(
    "华盛 金达 宏远 恒信 东方 瑞丰 天成 新世纪 博雅 中联 永泰 鸿运 兴隆 万达 嘉禾 汇通 盛世 "
    "佳美 远航 正大 长城 海天 同创 锦程 鼎盛 福瑞 康泰 凯德 新宇 晨光 华信 众诚 安达 德邦"
)
_TRADES = _words(
    "科技 贸易 商贸 实业 电子 物流 食品 医药 建材 服饰 教育 文化 餐饮 汽车 信息技术 投资"
)
_FORMS = ("有限公司", "有限公司", "股份有限公司", "集团有限公司", "工作室", "商行")
_ENGLISH_FORMS = ("Ltd", "Co., Ltd", "Trading", "Group", "Consulting", "Technologies")
_MAIL_HOSTS = (
    ("qq.com", 30), ("163.com", 20), ("126.com", 8), ("sina.com", 4), ("gmail.com", 6),
    ("outlook.com", 5), ("foxmail.com", 4), ("hotmail.com", 3), ("139.com", 2), ("aliyun.com", 2),
)  # fmt: skip
_MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 158 159 166 "
    "170 171 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199"
)
_TAGS = ("VIP", "老客户", "潜在客户", "重点关注", "价格敏感", "A 类客户", "B 类客户", "展会")
CSV_COLUMNS = ("客户编号", "姓名", "性别", "手机", "邮箱", "城市", "公司", "标签")
_MALE, _FEMALE = "男", "女"


@dataclass
class GeneratedFile:
    """What the benchmark needs to know of the file it wrote."""

    rows: int = 0
    repeats: set[int] = field(default_factory=set)  # data rows (1-based) of earlier customers
    invalid: set[int] = field(default_factory=set)  # data rows the import must refuse
    # a sample of the customers written, for the searches: (name, national mobile, e-mail)
    sample: list[tuple[str, str, str]] = field(default_factory=list)


def _chinese_name(rng: random.Random) -> tuple[str, str]:
    surname, surname_pinyin = rng.choices(_SURNAMES, _SURNAME_WEIGHTS)[0]
    given = rng.sample(_GIVEN, 2 if rng.random() < 0.72 else 1)
    return surname + "".join(c for c, _ in given), surname_pinyin + "".join(p for _, p in given)


def _english_name(rng: random.Random) -> tuple[str, str]:
    given, surname = rng.choice(_ENGLISH_GIVEN), rng.choice(_ENGLISH_SURNAMES)
    return f"{given} {surname}", f"{given}.{surname}".lower()


def _company(rng: random.Random, english: bool) -> str:
    if english:
        return f"{rng.choice(_ENGLISH_SURNAMES)} {rng.choice(_ENGLISH_FORMS)}"
    return (
        rng.choice(_CITY_NAMES[:20]) * (rng.random() < 0.5)
        + rng.choice(_BRANDS)
        + rng.choice(_TRADES)
        + rng.choice(_FORMS)
    )


def _written(national: str, rng: random.Random) -> str:
    """A mobile the ways people type it into a spreadsheet."""
    shape = rng.random()
    if shape < 0.6:
        return national
    if shape < 0.8:
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    if shape < 0.9:
        return f"+86 {national[:3]}-{national[3:7]}-{national[7:]}"
    return "+86" + national


def _mail_host(rng: random.Random) -> str:
    return rng.choices([h for h, _ in _MAIL_HOSTS], [w for _, w in _MAIL_HOSTS])[0]


def generate_csv(path: Path, count: int, seed: int = 7, sample_size: int = 4000) -> GeneratedFile:
    """A Chinese-Excel-shaped customer file, written row by row (memory stays flat).

    About 1.5% of rows repeat an earlier customer (same external id, or no external id and the
    mobile written another way) and 0.4% carry a malformed phone or e-mail."""
    rng = random.Random(seed)
    generated = GeneratedFile()
    recent: list[tuple[str, ...]] = []  # a window of earlier rows to repeat
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for number in range(1, count + 1):
            draw = rng.random()
            if draw < 0.015 and recent:
                row = list(rng.choice(recent))
                if rng.random() < 0.5:
                    row[0] = ""  # the same person from a list without external ids
                    row[3] = _written(normalize.phone(row[3])[3:], rng)
                writer.writerow(row)
                generated.repeats.add(number)
                continue
            english = draw > 0.89
            name, local = _english_name(rng) if english else _chinese_name(rng)
            national = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            email = (
                f"{local}{rng.randrange(100) if rng.random() < 0.6 else ''}@{_mail_host(rng)}"
                if rng.random() < (0.8 if english else 0.55)
                else ""
            )
            phone = _written(national, rng)
            if draw < 0.019:
                generated.invalid.add(number)
                if rng.random() < 0.5:
                    phone = rng.choice(("暂无", "无", "-", "见备注"))
                else:
                    email = local + "@"
            row = [
                f"KH{number:08d}" if rng.random() < 0.9 else "",
                name,
                rng.choice((_MALE, _FEMALE, "")),
                phone,
                email,
                rng.choices(_CITY_NAMES, _CITY_WEIGHTS)[0],
                _company(rng, english) if rng.random() < 0.45 else "",
                "，".join(rng.sample(_TAGS, rng.choice((1, 1, 2)))) if rng.random() < 0.2 else "",
            ]
            writer.writerow(row)
            if number not in generated.invalid:
                if len(recent) < 5000:
                    recent.append(tuple(row))
                else:
                    recent[rng.randrange(5000)] = tuple(row)
                # reservoir sample over the whole file
                if len(generated.sample) < sample_size:
                    generated.sample.append((name, national, email))
                elif (slot := rng.randrange(number)) < sample_size:
                    generated.sample[slot] = (name, national, email)
    generated.rows = count
    return generated


# ---------------------------------------------------------------- the floor


_FLOOR_COLUMNS = (
    "id, kind, name, name_key, customer_type, gender, occupation, industry, company, region, "
    "city, district, address, postal_code, source_channel, preferred_contact_time, interests, "
    "notes, credit_note, external_id, custom_fields, search_text, search_grams, owner_id, "
    "team_id, created_at, updated_at, version"
)


def _floor_rows(
    path: Path, skip: set[int], owner: tuple[int, int], batch: int
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """The customers, phones and e-mails the import stores, a batch at a time, prepared (and
    normalised, with their search fields) before the clock runs."""
    genders = CHOICES["gender"]
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    customers: list[tuple[Any, ...]] = []
    phones: list[tuple[Any, ...]] = []
    emails: list[tuple[Any, ...]] = []
    customer_id = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for number, (external, name, gender, phone, email, city, company, _tags) in enumerate(
            reader, start=1
        ):
            if number in skip:
                continue
            customer_id += 1
            phone_list = [normalize.phone(phone)]
            email_list = [normalize.email(email)] if email else []
            customers.append(
                (
                    customer_id, "person", name, normalize.name_key(name), "direct",
                    genders.get(gender), "", "", company, "", city, "", "", "", "", "", "", "",
                    "", external or None, "{}",
                    normalize.search_text(name, company, phone_list, email_list),
                    normalize.grams(name, company), *owner, now, now, 1,
                )
            )  # fmt: skip
            phones += [(customer_id, p, "mobile", 0) for p in phone_list]
            emails += [(customer_id, e, "work", 0) for e in email_list]
            if len(customers) == batch:
                yield customers, phones, emails
                customers, phones, emails = [], [], []
    if customers:
        yield customers, phones, emails


def raw_floor(
    url: str, path: Path, skip: set[int], owner: tuple[int, int], batch: int, method: str
) -> tuple[float, int]:
    """The same customers into the same tables with no Guanxi in between: (rows per second of
    the file, customers written). Only the database's own work is timed.

    ``method`` is ``executemany`` (one statement per row) or ``values`` (multi-row INSERTs of up
    to SQLite's 32,766 variables, which also lets FTS5 flush its pending terms once per
    statement instead of once per row) on SQLite, ``copy`` on PostgreSQL."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    cursor: Any = raw.cursor()
    elapsed, written = 0.0, 0
    for customers, phones, emails in _floor_rows(path, skip, owner, batch):
        if method != "copy":
            customers = [(*c[:22], " ".join(c[22]), *c[23:]) for c in customers]
        started = time.perf_counter()
        if method == "copy":
            for table, columns, rows in (
                ("customers", _FLOOR_COLUMNS, customers),
                ("customer_phones", "customer_id, number, label, position", phones),
                ("customer_emails", "customer_id, address, label, position", emails),
            ):
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
        else:
            cursor.execute("BEGIN")
            _sqlite_insert(cursor, "customers", _FLOOR_COLUMNS, customers, method)
            _sqlite_insert(
                cursor, "customer_phones", "customer_id, number, label, position", phones, method
            )
            _sqlite_insert(
                cursor, "customer_emails", "customer_id, address, label, position", emails, method
            )
            cursor.execute("COMMIT")
        elapsed += time.perf_counter() - started
        written += len(customers)
    raw.close()
    engine.dispose()
    return (written + len(skip)) / elapsed, written


def _sqlite_insert(
    cursor: Any, table: str, columns: str, rows: list[tuple[Any, ...]], method: str
) -> None:
    if not rows:
        return
    one_row = "(" + ", ".join("?" * len(rows[0])) + ")"
    sql = f"INSERT INTO {table} ({columns}) VALUES "
    if method == "executemany":
        cursor.executemany(sql + one_row, rows)
        return
    per_statement = 32766 // len(rows[0])
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        cursor.execute(sql + ", ".join([one_row] * len(chunk)), [v for row in chunk for v in row])


# ---------------------------------------------------------------- the store


@dataclass
class People:
    admin_id: int
    owner: tuple[int, int]  # (sales rep id, team id) who owns the imported customers
    token: str  # the team's manager's


def create_people(db: Database) -> People:
    with db.unit_of_work() as session:
        tracking.set_actor(session, AuditActor(None, "bench"))
        admin = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="bench-admin", password="p" * 12, role="admin"),
        )
        team = auth_service.create_team(session=session, team_in=TeamCreate(name="East"))
        for username, role in (("bench-manager", "manager"), ("bench-sales", "sales")):
            auth_service.create_user(
                session=session,
                user_in=UserCreate(
                    username=username, password="p" * 12, role=role, team_id=team.id
                ),
            )
        manager = auth_service.get_user_by_username(session=session, username="bench-manager")
        sales = auth_service.get_user_by_username(session=session, username="bench-sales")
        assert manager is not None and sales is not None
        token = login.create_token(
            session=session, user=manager, name="bench", expires_in_days=1
        ).token
        return People(admin.id, (sales.id, team.id), token)


@dataclass
class ImportOutcome:
    rate: float
    run: Any


def run_import(db: Database, path: Path, people: People) -> ImportOutcome:
    """``guanxi import customers FILE --owner bench-sales`` as the administrator, timed from
    recording the run to its end (the file's rows per second)."""
    started = time.perf_counter()
    with db.unit_of_work() as session:
        tracking.set_actor(session, AuditActor(people.admin_id, "bench-admin"))
        admin = auth_service.get_user(session=session, user_id=people.admin_id)
        run = importing.start_run(
            session=session, actor=admin, path=path, filename=path.name, owner="bench-sales"
        )
        run_id = run.id
    result = importing.execute_run(db=db, run_id=run_id, actor_id=people.admin_id)
    elapsed = time.perf_counter() - started
    assert result.status == importing.FINISHED, result.message
    return ImportOutcome(result.processed_rows / elapsed, result)


def refresh_statistics(db: Database) -> None:
    """What the nightly maintenance job does (``guanxi.maintenance``), and ANALYZE on both
    stores: a freshly loaded table has no planner statistics yet."""
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
        if db.engine.dialect.name == "sqlite":
            for index in ("customer_grams", "customer_trigrams"):
                connection.execute(text(f"INSERT INTO {index}({index}, rank) VALUES ('merge', 64)"))


# ---------------------------------------------------------------- requests


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


@contextmanager
def serving(settings: Settings, db: Database) -> Iterator[str]:
    app = create_app(settings, database=db, embedded_worker=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def latencies(client: httpx.Client, url: str, params_list: list[dict[str, Any]]) -> list[float]:
    times = []
    for params in params_list:
        started = time.perf_counter()
        reply = client.get(url, params=params)
        times.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, f"{url} {params}: {reply.status_code} {reply.text[:200]}"
    return times


def search_queries(generated: GeneratedFile, count: int) -> dict[str, list[str]]:
    """Fragments of customers that are in the file, as people type them."""
    rng = random.Random(3)
    sample = generated.sample
    chinese = [s for s in sample if normalize.has_cjk(s[0])]
    three = [s for s in chinese if len(s[0]) == 3]
    english = [s for s in sample if not normalize.has_cjk(s[0])]
    with_mail = [s for s in sample if s[2]]

    def pick(pool: list[tuple[str, str, str]]) -> tuple[str, str, str]:
        return rng.choice(pool)

    def two_characters() -> str:
        name = pick(chinese)[0]
        start = rng.randrange(len(name) - 1)
        return name[start : start + 2]

    def phone_fragment() -> str:
        national = pick(sample)[1]
        start = rng.randrange(len(national) - 7)
        return national[start : start + 8]

    def spaced_phone() -> str:
        national = pick(sample)[1]
        return f"{national[:3]} {national[3:7]} {national[7:]}"

    def english_fragment() -> str:
        surname = pick(english)[0].split()[-1].lower()
        return surname[: max(3, min(len(surname), rng.choice((4, 5))))]

    def mail_fragment() -> str:
        return pick(with_mail)[2].split("@")[0] + "@"

    makers = {
        "Chinese name, 2 characters (张伟)": two_characters,
        "Chinese name, 3 characters (张伟明)": lambda: pick(three)[0],
        "phone, 8 digits (00138000)": phone_fragment,
        'phone written "138 0013 8000"': spaced_phone,
        "English name, 4-5 letters (ander)": english_fragment,
        "e-mail, local part (zhangwei88@)": mail_fragment,
    }
    return {label: [make() for _ in range(count)] for label, make in makers.items()}


# ---------------------------------------------------------------- one store


def run(backend: str, args: argparse.Namespace, table: Table) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        csv_path = directory / "customers.csv"
        console.print(f"[{backend}] writing {args.customers:,} rows to {csv_path.name}")
        generated = generate_csv(csv_path, args.customers)
        skip = generated.repeats | generated.invalid

        floors: dict[str, float] = {}
        floor_rows = 0
        for method in ("executemany", "values") if backend == "sqlite" else ("copy",):
            with scratch_database(backend, directory, f"floor_{method}") as floor_url:
                floor = Database(floor_url)
                schema.upgrade(floor)
                people = create_people(floor)
                floor.dispose()
                console.print(f"[{backend}] floor: raw {method} of the same customers")
                floors[method], floor_rows = raw_floor(
                    floor_url, csv_path, skip, people.owner, importing.BATCH_ROWS, method
                )

        with scratch_database(backend, directory, "guanxi") as url:
            settings = Settings(
                data_dir=directory, database_url=url, secret_key="b" * 40, embedded_worker=False
            )
            crypto.configure(settings)
            db = Database(url)
            schema.upgrade(db)
            people = create_people(db)
            console.print(f"[{backend}] importing through Guanxi's import path")
            outcome = run_import(db, csv_path, people)
            refresh_statistics(db)
            done = outcome.run
            best = max(floors, key=floors.__getitem__)
            table.add_row(
                backend,
                f"import {args.customers:,}-row CSV, real path (file rows/s)",
                f"{outcome.rate:,.0f} rows/s",
                "; ".join(f"raw {m} {r:,.0f} rows/s" for m, r in floors.items()),
                f"{floors[best] / outcome.rate:.1f}x of {best}",
            )
            table.add_row(
                backend,
                "  of which",
                f"{done.inserted:,} new, {done.updated:,} updated, {done.unchanged:,} unchanged",
                f"{done.rejected:,} refused, {done.possible_duplicates:,} possible duplicates "
                f"(floor wrote {floor_rows:,})",
                "",
            )
            measure_requests(backend, args, table, settings, db, people, generated)
            db.dispose()


def measure_requests(
    backend: str,
    args: argparse.Namespace,
    table: Table,
    settings: Settings,
    db: Database,
    people: People,
    generated: GeneratedFile,
) -> None:
    rng = random.Random(5)

    def report(label: str, times: list[float], note: str = "") -> None:
        table.add_row(
            backend,
            label,
            f"p50 {percentile(times, 0.5):.1f} ms",
            f"p95 {percentile(times, 0.95):.1f} ms",
            note,
        )

    cities = [
        {"city": rng.choices(_CITY_NAMES, _CITY_WEIGHTS)[0], "sort": "name", "order": "asc"}
        for _ in range(args.requests)
    ]
    headers = {"Authorization": f"Bearer {people.token}"}
    with (
        serving(settings, db) as base,
        httpx.Client(base_url=base, headers=headers, timeout=60) as client,
    ):
        latencies(client, "/api/v1/customers", [{"q": "王"}, {"q": "138"}] * 5)  # warm up
        for label, queries in search_queries(generated, args.requests).items():
            times = latencies(client, "/api/v1/customers", [{"q": q, "limit": 20} for q in queries])
            report(f"search API: {label}", times)
        page = client.get("/customers")
        if page.status_code == 200:
            report(
                "list page /customers (HTML, first page)",
                latencies(client, "/customers", [{}] * args.requests),
            )
            report(
                "list page /customers, city filter, sorted by name",
                latencies(client, "/customers", cities),
            )
        else:
            report(
                "list API, first page (no HTML list page yet)",
                latencies(client, "/api/v1/customers", [{}] * args.requests),
                f"/customers answered {page.status_code}",
            )
        report(
            "list API, city filter, sorted by name",
            latencies(client, "/api/v1/customers", [{**c, "limit": 50} for c in cities]),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    table = Table(title=f"Guanxi customer database at {args.customers:,} customers")
    for column in ("store", "measure", "Guanxi", "floor / p95", "ratio / note"):
        table.add_column(column)
    chosen = backends()
    for backend in chosen:
        run(backend, args, table)
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
