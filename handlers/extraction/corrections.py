"""`改 <字段> <值>`: fix one field of a parsed note without typing the note again."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.extraction.amounts import parse_amount
from handlers.extraction.customers import ASK_BELOW, find_customer
from handlers.extraction.dates import parse_due
from handlers.extraction.model import DEFAULT_STAGES, CustomerRef, Extraction, Found

FIELDS = {
    "客户": "customer",
    "联系人": "contact",
    "时间": "due",
    "截止": "due",
    "事项": "action",
    "下一步": "action",
    "金额": "amount",
    "阶段": "stage",
    "承诺": "commitment",
}
_ENGLISH_FIELDS = ("customer", "contact", "due", "action", "amount", "stage", "commitment")
_CLEAR_WORDS = {"无", "没有", "清除", "删除", "删掉", "空", "none", "-"}
_EXAMPLES = {
    "customer": "改 客户 宏达建材",
    "contact": "改 联系人 王经理",
    "due": "改 时间 下周三17:00",
    "action": "改 事项 发正式报价",
    "amount": "改 金额 12.5万",
    "stage": "改 阶段 方案",
    "commitment": "改 承诺 无",
}


def _field(name: str) -> str:
    key = name.strip()
    if key.casefold() in _ENGLISH_FIELDS:
        return key.casefold()
    if key in FIELDS:
        return FIELDS[key]
    raise ValueError(
        f"不认识字段「{name}」，可以改：客户、联系人、时间、事项、金额、阶段、承诺。"
        "例如：改 时间 周五"
    )


def _customer(value: str, customers: Sequence[CustomerRef]) -> Found[CustomerRef]:
    link = find_customer(value, customers)
    if link.best is None:
        raise ValueError(f"没找到客户「{value}」，请写客户名称或简称，例如：改 客户 宏达建材")
    if link.best.confidence < ASK_BELOW and len(link.candidates) > 1:
        names = "」「".join(c.name for c in link.candidates)
        raise ValueError(
            f"「{value}」可能是「{names}」，请写完整些，例如：改 客户 {link.candidates[0].name}"
        )
    return Found(link.best.value, None, 1.0)


def _cleared(ex: Extraction, key: str) -> Extraction:
    if key == "contact":
        return dataclasses.replace(ex, contact=None)
    if key == "due":
        return dataclasses.replace(ex, due=None)
    if key == "action":
        return dataclasses.replace(ex, next_action=None)
    if key == "amount":
        return dataclasses.replace(ex, amount_yuan=None)
    if key == "stage":
        return dataclasses.replace(ex, stage=None)
    return dataclasses.replace(ex, commitment=None)


def apply_correction(
    ex: Extraction,
    field: str,
    value: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    customers: Sequence[CustomerRef],
    stages: Sequence[str] = DEFAULT_STAGES,
) -> Extraction:
    """The extraction with one field set by the rep (a corrected field has no span)."""
    key = _field(field)
    value = value.strip()
    if not value:
        raise ValueError(f"请在字段后写新的值，例如：{_EXAMPLES[key]}")
    if value.casefold() in _CLEAR_WORDS:
        if key == "customer":
            raise ValueError("客户不能为空，请写客户名称，例如：改 客户 宏达建材")
        return _cleared(ex, key)
    if key == "customer":
        return dataclasses.replace(ex, customer=_customer(value, customers), customer_candidates=())
    if key == "contact":
        return dataclasses.replace(ex, contact=Found(value, None))
    if key == "due":
        due = parse_due(value, now=now, tz=tz)
        if due is None:
            raise ValueError(
                f"看不懂时间「{value}」，请这样写：改 时间 下周三17:00 或 改 时间 3月10日"
            )
        return dataclasses.replace(ex, due=Found(due, None))
    if key == "action":
        was_promised = (
            ex.commitment is not None
            and ex.next_action is not None
            and (ex.commitment.value == ex.next_action.value)
        )
        commitment = Found(value, None) if was_promised else ex.commitment
        return dataclasses.replace(ex, next_action=Found(value, None), commitment=commitment)
    if key == "amount":
        amount = parse_amount(value)
        if amount is None:
            raise ValueError(f"看不懂金额「{value}」，请这样写：改 金额 12.5万 或 改 金额 125000")
        return dataclasses.replace(ex, amount_yuan=Found(amount, None))
    if key == "stage":
        if value not in stages:
            raise ValueError(f"没有阶段「{value}」，可选：{'、'.join(stages)}。例如：改 阶段 方案")
        return dataclasses.replace(ex, stage=Found(value, None))
    return dataclasses.replace(ex, commitment=Found(value, None))
