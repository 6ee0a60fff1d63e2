"""Whisper-style transcripts: names and time words that sound right but are written wrong, and
traditional characters, read like the typed note would be."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.extraction import CustomerRef, Extraction, extract_note
from handlers.extraction.normalize import normalise_note


def due_local(ex: Extraction, tz: ZoneInfo) -> str | None:
    if ex.due is None:
        return None
    at = ex.due.value.at.astimezone(tz)
    return f"{at:%Y-%m-%d %H:%M}" if ex.due.value.has_time else f"{at:%Y-%m-%d}"


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("周五钱给报价", "周五前给报价"),
        ("越底前走完审批", "月底前走完审批"),
        ("后天上五十点演示", "后天上午十点演示"),
        ("明天下五三点电话", "明天下午三点电话"),
        ("下週三前給報價", "下周三前给报价"),
    ],
)
def test_misheard_time_words_and_traditional_characters_are_put_right(
    heard: str, expected: str
) -> None:
    assert normalise_note(heard) == expected


def test_a_word_that_only_shares_toneless_pinyin_with_a_time_word_is_left_alone() -> None:
    assert normalise_note("商务谈判卡住了") == "商务谈判卡住了"  # shang1 wu4, not 上午


def test_money_is_not_mistaken_for_before() -> None:
    assert normalise_note("这笔钱下周到账") == "这笔钱下周到账"


def test_a_customer_name_is_never_rewritten_by_sound() -> None:
    assert normalise_note("上五集团明天签约", protect=["上五集团"]) == "上五集团明天签约"


def test_a_misheard_note_extracts_like_the_typed_one(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    heard = extract_note(
        "红搭建彩王经理嫌价格高，我答应周五钱给一版新报价", now=now, tz=tz, customers=customers
    )
    typed = extract_note(
        "宏达建材王经理嫌价格高，我答应周五前给一版新报价", now=now, tz=tz, customers=customers
    )
    assert heard.customer is not None
    assert typed.customer is not None
    assert heard.customer.value == typed.customer.value
    assert heard.customer.confidence < 1.0
    assert due_local(heard, tz) == due_local(typed, tz) == "2026-03-06"
    assert heard.commitment is not None
    assert heard.commitment.value == "给一版新报价"


def test_a_misheard_company_and_morning_still_give_the_demo_time(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = extract_note("致连科技约了后天上五十点上门演示", now=now, tz=tz, customers=customers)
    assert ex.customer is not None
    assert ex.customer.value.name == "杭州智联科技"
    assert due_local(ex, tz) == "2026-03-07 10:00"
    assert ex.next_action is not None
    assert "演示" in ex.next_action.value


def test_a_misheard_month_end_in_a_misheard_company_note(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = extract_note("最康药业采购说越底前走完审批流程", now=now, tz=tz, customers=customers)
    assert ex.customer is not None
    assert ex.customer.value.name == "苏州瑞康药业"
    assert due_local(ex, tz) == "2026-03-31"


def test_a_traditional_character_transcript_is_read_in_simplified(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = extract_note("智聯科技要求下週三上午十點前提供報價單", now=now, tz=tz, customers=customers)
    assert ex.text == "智联科技要求下周三上午十点前提供报价单"
    assert ex.customer is not None
    assert ex.customer.value.name == "杭州智联科技"
    assert due_local(ex, tz) == "2026-03-11 10:00"
    assert ex.next_action is not None
    assert ex.next_action.value == "提供报价单"


def test_spoken_numbers_give_the_amount(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    ex = extract_note(
        "启明科技签了合同，金额十二万五，下周一开始交付", now=now, tz=tz, customers=customers
    )
    assert ex.amount_yuan is not None
    assert str(ex.amount_yuan.value) == "125000"
