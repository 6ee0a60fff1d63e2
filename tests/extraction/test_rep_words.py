"""The rep's own words: promise forms, parts of the day, relative years, amounts in words."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.extraction import CustomerRef, extract_note, format_log, parse_due
from handlers.extraction.amounts import find_amount
from tests.extraction.moments import SHANGHAI


def local_due(phrase: str, now: datetime) -> str | None:
    due = parse_due(phrase, now=now, tz=SHANGHAI)
    return None if due is None else f"{due.at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


@pytest.mark.parametrize(
    ("text", "promised"),
    [
        ("启明刘总来电，我说周三之前派工程师过去看看", "派工程师过去看看"),
        ("启明那边我这边周五前给报价", "给报价"),
        ("启明要方案，我会下周一前把方案发给刘总", "把方案发给刘总"),
        ("启明科技，我们会下周二前安排演示", "安排演示"),
        ("宏达王经理嫌贵，我答应周五前给新报价", "给新报价"),
        ("启明刘总，我保证月底前交付", "交付"),
        ("启明，我承诺3月15日前完成试用", "完成试用"),
    ],
)
def test_first_person_promise_forms_become_commitments(
    text: str, promised: str, now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    extraction = extract_note(text, now=now, tz=tz, customers=customers)
    assert extraction.commitment is not None, text
    assert promised in extraction.commitment.value


@pytest.mark.parametrize(
    "text",
    [
        "启明说他们会下周给答复",  # the customer's promise, not the rep's
        "启明刘总说我们的方案不错，下周三前给反馈",
        "启明开会了，我们会议室订好了",
        "我说了半天，启明还是不感兴趣",  # 我说 without a deadline
    ],
)
def test_other_sentences_are_not_promises(
    text: str, now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    assert extract_note(text, now=now, tz=tz, customers=customers).commitment is None


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("3月10日上午", "2026-03-10 12:00"),
        ("明天下午", "2026-03-06 18:00"),
        ("今晚", "2026-03-05 21:00"),
        ("3月10日", "2026-03-10 18:00"),
        ("明早九点", "2026-03-06 09:00"),
        ("明晚", "2026-03-06 21:00"),
    ],
)
def test_parts_of_the_day_have_stated_defaults(phrase: str, expected: str, now: datetime) -> None:
    assert local_due(phrase, now) == expected


def test_the_log_states_the_default_time(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    extraction = extract_note("启明刘总要报价，3月10日上午给", now=now, tz=tz, customers=customers)
    assert "截止：3月10日(周二)上午（未写具体时间，按 12:00 计）" in format_log(extraction, tz)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("明年12月底", "2027-12-31 18:00"),
        ("后年3月", "2028-03-31 18:00"),
        ("明年3月底前", "2027-03-31 18:00"),
        ("今年年底", "2026-12-31 18:00"),
    ],
)
def test_relative_years_are_right(phrase: str, expected: str, now: datetime) -> None:
    assert local_due(phrase, now) == expected


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("预算一个亿", 100_000_000),
        ("两个亿的盘子", 200_000_000),
        ("三十来万", 300_000),
        ("二十多万吧", 200_000),
        ("5个亿", 500_000_000),
        ("十二万五", 125_000),
        ("12.5万", 125_000),
    ],
)
def test_amounts_in_words_parse(text: str, yuan: int) -> None:
    found = find_amount(text)
    assert found is not None
    assert found.value == Decimal(yuan)


def test_a_round_amount_is_shown_as_about(
    now: datetime, tz: ZoneInfo, customers: list[CustomerRef]
) -> None:
    extraction = extract_note("启明刘总说预算三十来万", now=now, tz=tz, customers=customers)
    assert "金额：约30万元（按 300,000 元记）" in format_log(extraction, tz)


def test_three_people_is_not_an_amount() -> None:
    assert find_amount("来了3个人") is None
