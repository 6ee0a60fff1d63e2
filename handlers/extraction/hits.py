"""A time expression found in a note: where it is and the local day (and clock time) it means."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class TimeHit:
    start: int
    end: int
    text: str
    on: date  # local calendar day
    at: time | None  # local clock time, None when only a day was said
    part: str | None = None  # a part of the day said without a clock time: 上午, 下午, 晚上


def chinese_number(words: str) -> float:
    """cn2an's reading of Chinese numerals (十二万五 → 125000); imported on first use (~0.2 s)."""
    import cn2an

    return float(cn2an.cn2an(words, "smart"))


def small_number(word: str) -> float | None:
    """'3', '三', '两', '十五', '半' → a number; None when it is not one."""
    if word == "半":
        return 0.5
    if word.isdigit():
        return float(word)
    try:
        return float(chinese_number(word))
    except (ValueError, KeyError, IndexError):
        return None


def add_months(d: date, months: int) -> date:
    month_index = d.month - 1 + months
    year, month = d.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def last_day_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def next_occurrence_of_month_day(month: int, day: int, today: date) -> date | None:
    """Month-day said without a year: this year, or next year when it is long past."""
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        # A date a few months back is a past event being told, not next year's deadline.
        if candidate >= today - timedelta(days=183):
            return candidate
    return None


def overlaps(hit: TimeHit, taken: list[tuple[int, int]]) -> bool:
    return any(hit.start < end and start < hit.end for start, end in taken)


def local_moment(hit: TimeHit, date_only_hour: int) -> datetime:
    """The naive local wall-clock moment a hit stands for."""
    return datetime.combine(hit.on, hit.at or time(date_only_hour))
