"""The words people write for choice fields (性别 男/女, 类别 个人/企业 ...) and how exports write
them, so that a file in English or Chinese, or one exported in either language, imports back."""

from __future__ import annotations

from guanxi.customers.labels import CHOICE_LABELS
from guanxi.customers.schemas import (
    CHANNELS,
    CUSTOMER_TYPES,
    GENDERS,
    KINDS,
    PURCHASE_ROLES,
    RISK_LEVELS,
)
from guanxi.web import i18n

# Values people write for each choice, in English and Chinese; the codes themselves always work.
CHOICES: dict[str, dict[str, str]] = {
    "kind": {
        "person": "person",
        "individual": "person",
        "个人": "person",
        "organisation": "organisation",
        "organization": "organisation",
        "company": "organisation",
        "企业": "organisation",
        "公司": "organisation",
        "机构": "organisation",
        "组织": "organisation",
        "单位": "organisation",
    },
    "customer_type": {
        "direct": "direct",
        "直销": "direct",
        "直客": "direct",
        "直接客户": "direct",
        "distributor": "distributor",
        "经销商": "distributor",
        "分销商": "distributor",
        "reseller": "reseller",
        "转售商": "reseller",
        "零售商": "reseller",
        "agent": "agent",
        "代理": "agent",
        "代理商": "agent",
    },
    "gender": {
        "male": "male",
        "m": "male",
        "男": "male",
        "男性": "male",
        "先生": "male",
        "female": "female",
        "f": "female",
        "女": "female",
        "女性": "female",
        "女士": "female",
        "other": "other",
        "o": "other",
        "其他": "other",
    },
    "preferred_channel": {
        "phone": "phone",
        "电话": "phone",
        "sms": "sms",
        "短信": "sms",
        "email": "email",
        "e-mail": "email",
        "邮件": "email",
        "电子邮件": "email",
        "wechat": "wechat",
        "微信": "wechat",
        "visit": "visit",
        "拜访": "visit",
        "上门": "visit",
        "mail": "mail",
        "邮寄": "mail",
        "信件": "mail",
    },
    "risk_level": {
        "low": "low",
        "低": "low",
        "medium": "medium",
        "中": "medium",
        "high": "high",
        "高": "high",
    },
    "purchase_role": {
        "decision_maker": "decision_maker",
        "decision maker": "decision_maker",
        "决策者": "decision_maker",
        "决策人": "decision_maker",
        "influencer": "influencer",
        "影响者": "influencer",
        "user": "user",
        "使用者": "user",
        "用户": "user",
        "buyer": "buyer",
        "采购": "buyer",
        "采购员": "buyer",
        "gatekeeper": "gatekeeper",
        "把关者": "gatekeeper",
        "守门人": "gatekeeper",
        "other": "other",
        "其他": "other",
    },
}
CHOICE_CODES: dict[str, tuple[str, ...]] = {
    "kind": KINDS,
    "customer_type": CUSTOMER_TYPES,
    "gender": GENDERS,
    "preferred_channel": CHANNELS,
    "risk_level": RISK_LEVELS,
    "purchase_role": PURCHASE_ROLES,
}


def choice_lookup(name: str) -> dict[str, str]:
    """What people may write for a choice -> its code: the code, the usual words in English and
    Chinese, and its label in every language the catalog has (what exports write)."""
    lookup = dict(CHOICES[name])
    for code, label in CHOICE_LABELS[name].items():
        lookup.setdefault(label.lower(), code)
        for locale in i18n.LANGUAGE_NAMES:
            lookup.setdefault(i18n.translations(locale).gettext(label).strip().lower(), code)
    lookup.update({code: code for code in CHOICE_CODES[name]})
    return lookup
