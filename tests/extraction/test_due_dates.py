"""parse_due: Chinese and English time phrases at several moments, in Shanghai, returned as UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.extraction import parse_due
from tests.extraction.moments import SHANGHAI, THURSDAY_EVENING, local


def due_text(phrase: str, now: str) -> str | None:
    """'2026-03-11' for a date, '2026-03-11 10:00' when a time of day was said."""
    due = parse_due(phrase, now=local(now), tz=SHANGHAI)
    if due is None:
        return None
    at = due.at.astimezone(SHANGHAI)
    return f"{at:%Y-%m-%d %H:%M}" if due.has_time else f"{at:%Y-%m-%d}"


THURSDAY = THURSDAY_EVENING


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("明天", "2026-03-06"),
        ("后天", "2026-03-07"),
        ("下周三", "2026-03-11"),
        ("这周五", "2026-03-06"),
        ("周五前", "2026-03-06"),
        ("周三前", "2026-03-11"),  # this week's Wednesday is past: the coming one
        ("周一上午十点", "2026-03-09 10:00"),
        ("下下周二", "2026-03-17"),
        ("下周", "2026-03-09"),
        ("3月10日10:00", "2026-03-10 10:00"),
        ("15号前", "2026-03-15"),
        ("3号前", "2026-04-03"),
        ("月底前", "2026-03-31"),
        ("下个月底", "2026-04-30"),
        ("下个月初", "2026-04-01"),
        ("三天内", "2026-03-08"),
        ("两天后", "2026-03-07"),
        ("一周内", "2026-03-12"),
        ("两个月后", "2026-05-05"),
        ("三个工作日内", "2026-03-10"),
        ("今晚8点", "2026-03-05 20:00"),
        ("明天3点", "2026-03-06 15:00"),
        ("明早九点", "2026-03-06 09:00"),
        ("下周三上午十点前", "2026-03-11 10:00"),
        ("明年1月8号", "2027-01-08"),
        ("国庆后第一个工作日", "2026-10-08"),
        ("节后第一天", "2026-04-07"),  # after Qingming, the next holiday
        ("by next Tuesday", "2026-03-10"),
        ("tomorrow at 2pm", "2026-03-06 14:00"),
        ("by Friday", "2026-03-06"),
        ("March 12 at 3pm", "2026-03-12 15:00"),
        ("in 3 days", "2026-03-08"),
        ("end of the month", "2026-03-31"),
        ("2026-03-11 10:00", "2026-03-11 10:00"),
    ],
)
def test_phrases_said_on_a_thursday_evening(phrase: str, expected: str) -> None:
    assert due_text(phrase, THURSDAY) == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("明天", "2026-02-01"),
        ("月底前", "2026-01-31"),
        ("下个月初", "2026-02-01"),
        ("下个月底", "2026-02-28"),
        ("三天内", "2026-02-03"),
        ("节后第一天", "2026-02-24"),  # Spring Festival 2026 ends on the 23rd
    ],
)
def test_phrases_said_on_the_last_day_of_january(phrase: str, expected: str) -> None:
    assert due_text(phrase, "2026-01-31 10:00") == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("明天", "2027-01-01"),
        ("下周三", "2027-01-06"),
        ("15号前", "2027-01-15"),
        ("3月10日", "2027-03-10"),
        ("下个月初", "2027-01-01"),
        ("元旦后第一周", "2027-01-04"),
        ("月底", "2026-12-31"),
    ],
)
def test_phrases_said_on_new_years_eve_land_in_the_next_year(phrase: str, expected: str) -> None:
    assert due_text(phrase, "2026-12-31 16:00") == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("下周三", "2026-03-11"),
        ("明天", "2026-03-09"),
        ("周五前", "2026-03-13"),
        ("周一上午十点", "2026-03-09 10:00"),
        ("一周内", "2026-03-15"),
    ],
)
def test_phrases_said_on_a_sunday(phrase: str, expected: str) -> None:
    assert due_text(phrase, "2026-03-08 11:00") == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("国庆后第一个工作日", "2026-10-08"),
        ("节后第一天", "2026-10-08"),
        ("节前", "2026-09-30"),
        ("下周三", "2026-10-07"),
        ("五个工作日内", "2026-10-10"),  # a make-up Saturday counts
    ],
)
def test_phrases_said_in_the_national_day_week(phrase: str, expected: str) -> None:
    assert due_text(phrase, "2026-09-28 09:15") == expected


def test_a_date_without_a_time_is_due_at_six_in_the_evening_local() -> None:
    due = parse_due("3月10日", now=local(THURSDAY), tz=SHANGHAI)
    assert due is not None
    assert not due.has_time
    assert due.at == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def test_the_due_time_is_aware_utc_whatever_the_timezone() -> None:
    new_york = ZoneInfo("America/New_York")
    due = parse_due("明天下午3点", now=local(THURSDAY), tz=new_york)
    assert due is not None
    assert due.at.tzinfo == UTC
    assert due.at.astimezone(new_york).hour == 15


def test_the_due_keeps_the_words_it_came_from() -> None:
    due = parse_due("下周三前", now=local(THURSDAY), tz=SHANGHAI)
    assert due is not None
    assert due.text == "下周三前"


@pytest.mark.parametrize("phrase", ["", "没有时间", "hello", "反馈报价"])
def test_a_phrase_without_a_time_has_no_due(phrase: str) -> None:
    assert parse_due(phrase, now=local(THURSDAY), tz=SHANGHAI) is None


def test_a_past_phrase_is_still_parsed_so_the_caller_can_refuse_it() -> None:
    assert due_text("昨天", THURSDAY) == "2026-03-04"
