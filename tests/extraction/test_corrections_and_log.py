"""`改 <字段> <值>` corrections, and the few chat lines that show a parsed note."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.extraction import (
    CustomerRef,
    Extraction,
    apply_correction,
    extract_note,
    format_log,
)


@pytest.fixture
def parsed(now: datetime, tz: ZoneInfo, customers: list[CustomerRef]) -> Extraction:
    text = "宏达建材王经理反馈价格偏高，我答应周五前给一版新报价，预算12.5万"
    return extract_note(text, now=now, tz=tz, customers=customers)


def correct(
    ex: Extraction,
    field: str,
    value: str,
    now: datetime,
    tz: ZoneInfo,
    customers: list[CustomerRef],
) -> Extraction:
    return apply_correction(ex, field, value, now=now, tz=tz, customers=customers)


def test_the_log_shows_each_field_on_one_short_line(parsed: Extraction, tz: ZoneInfo) -> None:
    assert format_log(parsed, tz)[:-1] == [
        "客户：佛山宏达建材",
        "联系人：王经理",
        "下一步：给一版新报价",
        "截止：3月6日(周五)（未写具体时间，按 18:00 计）",
        "承诺：给一版新报价（登记为承诺）",
        "金额：12.5万元",
    ]
    assert format_log(parsed, tz)[-1].startswith("有误请回复：改 ")


def test_a_time_of_day_and_another_year_are_shown(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = extract_note("智联科技明年1月8号下午3点来签约", now=now, tz=tz, customers=customers)
    assert "截止：2027年1月8日(周五) 15:00" in format_log(ex, tz, now=now)


def test_a_match_by_sound_shows_its_confidence(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = extract_note("红搭建彩下周一再联系", now=now, tz=tz, customers=customers)
    assert format_log(ex, tz)[0] == "客户：佛山宏达建材（按相近的名称认出）"


def test_a_doubtful_match_asks(now: datetime, tz: ZoneInfo, customers: list[CustomerRef]) -> None:
    ex = extract_note("最康说月底前走完审批", now=now, tz=tz, customers=customers)
    assert format_log(ex, tz)[0] == "客户：苏州瑞康药业，是这位吗？"


def test_an_unknown_customer_says_how_to_set_it(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = extract_note("明天再联系", now=now, tz=tz, customers=customers)
    assert format_log(ex, tz)[0] == "客户：未识别，请回复：改 客户 <客户名称>"


def test_correcting_the_time_keeps_the_rest(
    parsed: Extraction, now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    fixed = correct(parsed, "时间", "下周三17:00", now, tz, customers)
    assert fixed.due is not None
    assert fixed.due.span is None
    assert "截止：3月11日(周三) 17:00" in format_log(fixed, tz)
    assert fixed.commitment == parsed.commitment
    assert fixed.customer == parsed.customer


def test_correcting_the_customer_by_short_name(
    parsed: Extraction, now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    fixed = correct(parsed, "客户", "智联", now, tz, customers)
    assert fixed.customer is not None
    assert fixed.customer.value.name == "杭州智联科技"
    assert fixed.customer_candidates == ()


def test_english_field_names_work_too(
    parsed: Extraction, now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    fixed = correct(parsed, "amount", "8万", now, tz, customers)
    assert fixed.amount_yuan is not None
    assert fixed.amount_yuan.value == Decimal(80000)


def test_correcting_the_action_corrects_the_promise_too(
    parsed: Extraction, now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    fixed = correct(parsed, "事项", "发正式报价", now, tz, customers)
    assert fixed.next_action is not None
    assert fixed.commitment is not None
    assert fixed.next_action.value == fixed.commitment.value == "发正式报价"


@pytest.mark.parametrize(("field", "attribute"), [("承诺", "commitment"), ("金额", "amount_yuan")])
def test_a_field_can_be_cleared(
    parsed: Extraction,
    now: datetime,
    tz: ZoneInfo,
    customers: list[CustomerRef],
    field: str,
    attribute: str,
) -> None:
    assert getattr(correct(parsed, field, "无", now, tz, customers), attribute) is None


def test_the_stage_must_be_one_of_the_funnel(
    parsed: Extraction, now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    fixed = correct(parsed, "阶段", "谈判", now, tz, customers)
    assert fixed.stage is not None
    assert fixed.stage.value == "谈判"
    with pytest.raises(ValueError, match="没有阶段「差不多了」"):
        correct(parsed, "阶段", "差不多了", now, tz, customers)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("时间", "改天吧", "看不懂时间「改天吧」"),
        ("金额", "很多", "看不懂金额「很多」"),
        ("客户", "星辰大海", "没找到客户「星辰大海」"),
        ("客户", "无", "客户不能为空"),
        ("心情", "好", "不认识字段「心情」"),
        ("时间", " ", "请在字段后写新的值"),
    ],
)
def test_a_bad_correction_says_what_was_expected(
    parsed: Extraction,
    now: datetime,
    tz: ZoneInfo,
    customers: list[CustomerRef],
    field: str,
    value: str,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        correct(parsed, field, value, now, tz, customers)
    assert "改 " in str(caught.value)  # every message carries an example
