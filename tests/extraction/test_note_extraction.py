"""extract_note: the fields of a follow-up log, each with the span of text it came from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.extraction import CustomerRef, Extraction, Found, RuleExtractor, extract_note

Read = Callable[[str], Extraction]


@pytest.fixture
def read(now: datetime, tz: ZoneInfo, customers: list[CustomerRef]) -> Read:
    def read(text: str) -> Extraction:
        return extract_note(text, now=now, tz=tz, customers=customers)

    return read


def words(ex: Extraction, found: Found[Any] | None) -> str | None:
    """The words of the normalised note a field points at."""
    if found is None or found.span is None:
        return None
    return ex.text[found.span[0] : found.span[1]]


def test_every_found_field_points_at_its_words(read: Read) -> None:
    ex = read("今天拜访浙一医院放射科李主任，聊了维保续签，他同意对比报价，下周三前给反馈")
    assert words(ex, ex.customer) == "浙一医院"
    assert words(ex, ex.contact) == "李主任"
    assert words(ex, ex.due) == "下周三前"
    assert words(ex, ex.next_action) == "下周三前给反馈"
    assert ex.next_action is not None
    assert ex.next_action.value == "给反馈"
    assert ex.engine == "rules"


def test_the_last_upcoming_time_is_the_due_not_todays_visit(read: Read) -> None:
    ex = read("今天拜访了启明科技，下周再打电话")
    assert ex.due is not None
    assert ex.due.value.text == "下周"


def test_a_visit_told_in_the_past_today_is_not_a_next_step(read: Read) -> None:
    ex = read("启明科技今天下午签了合同")
    assert ex.due is None


def test_the_rep_promising_registers_a_commitment(read: Read) -> None:
    ex = read("启明科技王经理反馈价格偏高，我答应周五前给一版新报价")
    assert ex.commitment is not None
    assert ex.commitment.value == "给一版新报价"
    assert ex.due is not None
    assert ex.due.value.text == "周五前"


def test_a_promise_with_no_subject_is_the_reps(read: Read) -> None:
    ex = read("给浙一医院寄了样品，承诺3月15日前完成科室试用")
    assert ex.commitment is not None
    assert ex.commitment.value == "完成科室试用"


def test_the_customer_promising_is_not_a_commitment(read: Read) -> None:
    ex = read("智联科技答应下周三之前付尾款")
    assert ex.commitment is None
    assert ex.next_action is not None
    assert ex.next_action.value == "付尾款"


def test_the_promised_time_wins_over_an_earlier_one(read: Read) -> None:
    ex = read("瑞康药业说明天给答复，我承诺下周一把样品寄过去")
    assert ex.due is not None
    assert ex.due.value.text == "下周一"
    assert ex.commitment is not None
    assert ex.commitment.value == "把样品寄过去"


def test_an_english_promise_is_a_commitment(read: Read) -> None:
    ex = read("Called Acme, I promised to send the contract draft in 3 days")
    assert ex.commitment is not None
    assert ex.commitment.value == "send the contract draft"


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("精工配件确认需求，进入方案阶段，下周发方案", "方案"),
        ("华东医疗进入谈判阶段", "谈判"),
        ("云图教育签了合同，下周一开始交付", "成交"),
        ("Acme signed the contract today", "成交"),
        ("智联科技丢单了，客户选了竞品", "丢单"),
        ("精工配件国庆后第一个工作日上门签合同", None),  # still to be signed
        ("华东医疗还没丢单，下周再争取", None),
    ],
)
def test_stage_hints(read: Read, text: str, stage: str | None) -> None:
    ex = read(text)
    assert (ex.stage.value if ex.stage else None) == stage


def test_a_stage_missing_from_the_funnel_is_not_hinted(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = extract_note(
        "启明科技签了合同", now=now, tz=tz, customers=customers, stages=("线索", "方案")
    )
    assert ex.stage is None


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("云图教育签了合同，金额12.5万", "125000"),
        ("宏达回款8万已到账", "80000"),
        ("金额十二万五", "125000"),
        ("金额12万5，下周一开始交付", "125000"),  # how Whisper writes 十二万五
        ("报价3万5千", "35000"),
        ("合同额12万5000元", "125000"),
        ("回款5万3月底到", "50000"),
        ("合同额三十六万元", "360000"),
        ("报价¥125,000含税", "125000"),
        ("预算5000元", "5000"),
        ("RMB 30k for the pilot", "30000"),
        ("三天内寄出发票", None),
        ("3月10日10:00发方案", None),
    ],
)
def test_amounts_in_yuan(read: Read, text: str, yuan: str | None) -> None:
    ex = read(text)
    assert (ex.amount_yuan.value if ex.amount_yuan else None) == (Decimal(yuan) if yuan else None)


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("宏达建材王经理反馈价格偏高", "王经理"),
        ("华东医疗张总说预算批了", "张总"),
        ("瑞康药业李总今晚8点开会", "李总"),
        ("Acme的CTO对接口方案没意见", "CTO"),
        ("智联科技技术负责人下载了白皮书", "技术负责人"),
        ("浙一的设备科主任同意评估", "设备科主任"),
    ],
)
def test_the_contact_person(read: Read, text: str, contact: str) -> None:
    ex = read(text)
    assert ex.contact is not None
    assert ex.contact.value == contact


@pytest.mark.parametrize("text", ["明天确认采购数量", "总结一下，施工方案下周出"])
def test_words_that_look_like_titles_are_not_contacts(read: Read, text: str) -> None:
    assert read(text).contact is None


def test_the_summary_drops_spoken_fillers(read: Read) -> None:
    ex = read("嗯，那个，宏达建材那边，就是说，下周一再跟进一下报价。")
    assert ex.summary == "宏达建材那边，下周一再跟进一下报价"


def test_a_next_step_without_a_date_is_still_the_action(read: Read) -> None:
    ex = read("启明科技对方案满意，准备安排技术交流")
    assert ex.due is None
    assert ex.next_action is not None
    assert "技术交流" in ex.next_action.value


def test_a_note_with_nothing_to_do_has_no_action(read: Read) -> None:
    ex = read("宏达回款8万已到账")
    assert ex.next_action is None
    assert ex.due is None


def test_a_thin_action_borrows_what_from_the_clause_before(read: Read) -> None:
    ex = read("跟智联的采购专员聊了比价流程，他们要三家报价单，本周五下班前发过去")
    assert ex.next_action is not None
    assert "报价单" in ex.next_action.value


@pytest.mark.parametrize("text", ["", "   ", "。。。", "😀👍", "a" * 2000])
def test_odd_input_never_crashes(read: Read, text: str) -> None:
    ex = read(text)
    assert ex.engine == "rules"


async def test_the_rule_extractor_fits_the_async_interface(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = await RuleExtractor().extract("宏达明天再联系", now=now, tz=tz, customers=customers)
    assert ex.customer is not None
    assert ex.customer.value.name == "佛山宏达建材"


def test_a_customer_named_like_a_time_is_not_read_as_one(now: datetime, tz: ZoneInfo) -> None:
    customers = [CustomerRef(1, "明天科技有限公司", ("明天科技",))]
    ex = extract_note("明天科技的合同签了", now=now, tz=tz, customers=customers)
    assert ex.due is None
    assert ex.customer is not None
    assert ex.customer.value.id == 1
