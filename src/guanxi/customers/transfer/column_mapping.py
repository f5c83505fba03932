"""Which file column feeds which field: the fields an import fills, the headers people use for
them in English and Chinese (and vCard), the automatic mapping, mapping files and saved mappings.

A mapping is ``{"file column": "field"}``; a column mapped to ``""`` is ignored. Custom fields are
``cf.<key>``. Several columns may feed a list field (手机 and 电话 both into phones), but only one
column may feed any other field.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import custom_fields
from guanxi.customers.models import ImportMapping
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.web import i18n

ENTITIES = ("customers", "contacts")
CUSTOM_PREFIX = "cf."
MAPPING_EXAMPLE = '{"姓名": "name", "手机": "phones"}'


@dataclass(frozen=True)
class ImportField:
    """A field a file column can be mapped to."""

    key: str
    label: str
    aliases: str = ""  # headers people use for it, separated by "|"
    multiple: bool = False  # a list field several columns may feed


CUSTOMER_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "name",
        N_("Name"),
        "name|full name|customer|customer name|姓名|客户名称|客户名|名称|客户|客户姓名|FN",
    ),
    ImportField(
        "phones",
        N_("Phones"),
        "phone|phones|mobile|mobile phone|cell|cellphone|tel|telephone|phone number|手机|"
        "手机号|手机号码|电话|联系电话|电话号码|移动电话|座机|固话|TEL",
        multiple=True,
    ),
    ImportField(
        "emails",
        N_("E-mails"),
        "email|e-mail|emails|e-mails|mail|email address|邮箱|电子邮件|电子邮箱|邮件|邮箱地址|EMAIL",
        multiple=True,
    ),
    ImportField(
        "kind",
        N_("Kind"),
        "kind|person or organisation|客户性质|个人/企业",
    ),
    ImportField(
        "customer_type",
        N_("Customer type"),
        "customer type|type|客户类型|类型|渠道类型",
    ),
    ImportField(
        "company",
        N_("Company"),
        "company|organisation|organization|employer|公司|单位|公司名称|工作单位|所在公司|ORG",
    ),
    ImportField(
        "occupation",
        N_("Occupation"),
        "occupation|job|job title|title|position|职业|职位|职务|TITLE",
    ),
    ImportField(
        "industry",
        N_("Industry"),
        "industry|sector|行业|所属行业",
    ),
    ImportField(
        "region",
        N_("Province / region"),
        "province|region|state|省份|省|地区|所在地区|区域|ADR-REGION",
    ),
    ImportField(
        "city",
        N_("City"),
        "city|town|城市|所在城市|市|ADR-LOCALITY",
    ),
    ImportField(
        "district",
        N_("District"),
        "district|county|区县|区|县",
    ),
    ImportField(
        "address",
        N_("Address"),
        "address|street|street address|地址|详细地址|联系地址|通讯地址|ADR",
    ),
    ImportField(
        "postal_code",
        N_("Postal code"),
        "postal code|postcode|zip|zip code|邮编|邮政编码|ADR-POSTAL-CODE",
    ),
    ImportField(
        "gender",
        N_("Gender"),
        "gender|sex|性别|GENDER",
    ),
    ImportField(
        "birthday",
        N_("Birthday"),
        "birthday|birth date|date of birth|dob|生日|出生日期|出生年月日|BDAY",
    ),
    ImportField(
        "source_channel",
        N_("Source"),
        "source|source channel|lead source|来源|客户来源|来源渠道|渠道",
    ),
    ImportField(
        "preferred_channel",
        N_("Preferred channel"),
        "preferred channel|首选联系方式|偏好渠道|联系方式偏好",
    ),
    ImportField(
        "preferred_contact_time",
        N_("Preferred contact time"),
        "preferred contact time|best time to call|方便联系时间|联系时间",
    ),
    ImportField(
        "interests",
        N_("Interests"),
        "interests|hobbies|兴趣|兴趣爱好|爱好",
    ),
    ImportField(
        "notes",
        N_("Notes"),
        "notes|note|remarks|comment|comments|备注|说明|NOTE",
    ),
    ImportField(
        "risk_level",
        N_("Risk level"),
        "risk|risk level|风险|风险等级",
    ),
    ImportField(
        "credit_note",
        N_("Credit note"),
        "credit|credit note|信用|信用备注",
    ),
    ImportField(
        "external_id",
        N_("External id"),
        "external id|customer id|customer number|customer no|customer code|编号|客户编号|客户编码|"
        "客户代码|外部编号|UID",
    ),
    ImportField(
        "id_number",
        N_("ID number"),
        "id number|identity number|id card|id card number|"
        "身份证|身份证号|身份证号码|证件号码|证件号",
    ),
    ImportField(
        "tags",
        N_("Tags"),
        "tags|tag|labels|categories|标签|客户标签|分类|CATEGORIES",
        multiple=True,
    ),
    ImportField(
        "owner",
        N_("Owner"),
        "owner|owner username|account owner|sales rep|负责人|归属人|所属销售|客户经理|跟进人",
    ),
)

CONTACT_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "organisation_external_id",
        N_("Organisation external id"),
        "organisation external id|organization external id|company id|公司编号|单位编号|客户编号|"
        "所属客户编号",
    ),
    ImportField(
        "organisation",
        N_("Organisation"),
        "organisation|organization|company|customer|account|公司|单位|公司名称|单位名称|所属公司|所属客户|"
        "客户名称|ORG",
    ),
    ImportField(
        "name",
        N_("Name"),
        "name|full name|contact|contact name|姓名|联系人|联系人姓名|FN",
    ),
    ImportField(
        "title",
        N_("Title"),
        "title|job title|position|职务|职位|头衔|TITLE",
    ),
    ImportField(
        "purchase_role",
        N_("Role in the purchase"),
        "role|purchase role|buying role|角色|采购角色|决策角色",
    ),
    ImportField(
        "phone",
        N_("Phone"),
        "phone|mobile|tel|telephone|手机|手机号|手机号码|电话|联系电话|TEL",
    ),
    ImportField(
        "email",
        N_("E-mail"),
        "email|e-mail|mail|邮箱|电子邮件|电子邮箱|EMAIL",
    ),
    ImportField(
        "notes",
        N_("Notes"),
        "notes|note|remarks|comment|备注|说明|NOTE",
    ),
    ImportField(
        "external_id",
        N_("External id"),
        "external id|contact id|contact number|联系人编号|编号|UID",
    ),
    ImportField(
        "tags",
        N_("Tags"),
        "tags|tag|labels|标签|CATEGORIES",
        multiple=True,
    ),
)

_FIELDS = {"customers": CUSTOMER_FIELDS, "contacts": CONTACT_FIELDS}
_BRACKETED = re.compile(r"[(（\[【].*?[)）\]】]")
_NOISE = re.compile(r"[\s_\-:：*＊.。/]")


def fields_for(entity: str) -> tuple[ImportField, ...]:
    return _FIELDS[entity]


def custom_entity(entity: str) -> str:
    """The entity name custom field definitions use ("customer", "contact")."""
    return entity[:-1]


def header_key(text: str) -> str:
    """A header as compared with aliases: full-width folded, lower case, no brackets (手机(必填)),
    spaces, underscores or required-field stars."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _NOISE.sub("", _BRACKETED.sub("", folded))


def _alias_index(entity: str, custom_labels: dict[str, str]) -> dict[str, str]:
    """Header key -> field, from aliases, field labels in every language, field keys themselves,
    and custom field labels and keys."""
    index: dict[str, str] = {}

    def add(alias: str, target: str) -> None:
        index.setdefault(header_key(alias), target)

    for item in fields_for(entity):
        add(item.key, item.key)
        for alias in item.aliases.split("|"):
            add(alias, item.key)
        for locale in i18n.LANGUAGE_NAMES:
            add(i18n.translations(locale).gettext(item.label), item.key)
    for key, label in custom_labels.items():
        add(CUSTOM_PREFIX + key, CUSTOM_PREFIX + key)
        add(label, CUSTOM_PREFIX + key)
        add(key, CUSTOM_PREFIX + key)
    return index


def custom_labels(session: Session, entity: str) -> dict[str, str]:
    return {d.key: d.label for d in custom_fields.definitions(session, custom_entity(entity))}


def auto_mapping(
    columns: Iterable[str], entity: str, custom: dict[str, str] | None = None
) -> dict[str, str]:
    """The mapping for a file whose headers are the usual ones; unknown columns map to "".
    A single-valued field takes the first column that names it."""
    index = _alias_index(entity, custom or {})
    multiple = {f.key for f in fields_for(entity) if f.multiple}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        target = index.get(header_key(column), "")
        if target and target not in multiple and target in taken:
            target = ""
        mapping[column] = target
        taken.add(target)
    return mapping


def check_mapping(
    mapping: dict[str, str], columns: Iterable[str], entity: str, custom: Iterable[str]
) -> dict[str, str]:
    """A complete, valid mapping for these columns: unknown fields, a field fed by two columns,
    and a missing name column are refused; columns the mapping does not name are ignored."""
    known = {f.key for f in fields_for(entity)} | {CUSTOM_PREFIX + k for k in custom}
    multiple = {f.key for f in fields_for(entity) if f.multiple}
    result = {column: str(mapping.get(column) or "") for column in columns}
    errors: list[FieldError] = []
    used: dict[str, str] = {}
    for column, target in result.items():
        if not target:
            continue
        if target not in known:
            errors.append(FieldError(column, N_("Unknown field.")))
        elif target in used and target not in multiple:
            errors.append(FieldError(column, N_("Another column is mapped to this field.")))
        used.setdefault(target, column)
    if "name" not in used and not errors:
        errors.append(FieldError("name", N_("Map a column to the name.")))
    if entity == "contacts" and not {"organisation", "organisation_external_id"} & set(used):
        errors.append(FieldError("organisation", N_("Map a column to the organisation.")))
    if errors:
        raise InvalidInput(N_("The column mapping is not valid."), errors=errors)
    return result


def read_mapping_file(path: Path) -> dict[str, str]:
    """A mapping file for the command line: JSON ``{"file column": "field"}``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            N_("The mapping file is not JSON: {reason}"), reason=str(exc).splitlines()[0]
        ) from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str | None) for k, v in data.items()
    ):
        raise InvalidInput(
            N_("The mapping file must be a JSON object like {example}."), example=MAPPING_EXAMPLE
        )
    return {k: v or "" for k, v in data.items()}


# ---------------------------------------------------------------- saved mappings


def list_mappings(*, session: Session, entity: str) -> list[ImportMapping]:
    return list(
        session.scalars(
            select(ImportMapping).where(ImportMapping.entity == entity).order_by(ImportMapping.name)
        )
    )


def get_mapping(*, session: Session, mapping_id: int) -> ImportMapping:
    mapping = session.get(ImportMapping, mapping_id)
    if mapping is None:
        raise NotFound(N_("Mapping {id} was not found."), id=mapping_id)
    return mapping


def save_mapping(
    *, session: Session, actor: User, name: str, entity: str, columns: dict[str, Any]
) -> ImportMapping:
    """Save (or replace, by name) a mapping for files of the same shape."""
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput(
            N_("Give the mapping a name of up to 120 characters."),
            errors=[
                FieldError("mapping_name", N_("Give the mapping a name of up to 120 characters."))
            ],
        )
    mapping = session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if mapping is not None and mapping.entity != entity:
        raise Conflict(
            N_("A mapping named {name} already exists."),
            errors=[FieldError("mapping_name", N_("This name is taken."))],
            name=name,
        )
    if mapping is None:
        mapping = ImportMapping(name=name, entity=entity, created_by_id=actor.id)
        session.add(mapping)
    mapping.columns = {str(k): str(v) for k, v in columns.items() if v}
    session.flush()
    return mapping
