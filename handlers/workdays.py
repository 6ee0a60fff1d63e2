"""Business days on the official Chinese calendar (make-up workdays included), with a Mon–Fri
fallback for years chinese-calendar has no data for, and the holiday blocks behind 节后/国庆后."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import chinese_calendar
import structlog

log = structlog.get_logger()

# How far to look for a holiday block; every festival comes round within a year.
_SEARCH_DAYS = 400


class Festival(StrEnum):
    NEW_YEAR = "元旦"
    SPRING = "春节"
    TOMB_SWEEPING = "清明"
    LABOUR = "劳动节"
    DRAGON_BOAT = "端午"
    NATIONAL = "国庆"
    MID_AUTUMN = "中秋"


_CALENDAR_NAMES = {
    chinese_calendar.Holiday.new_years_day.value: Festival.NEW_YEAR,
    chinese_calendar.Holiday.spring_festival.value: Festival.SPRING,
    chinese_calendar.Holiday.tomb_sweeping_day.value: Festival.TOMB_SWEEPING,
    chinese_calendar.Holiday.labour_day.value: Festival.LABOUR,
    chinese_calendar.Holiday.dragon_boat_festival.value: Festival.DRAGON_BOAT,
    chinese_calendar.Holiday.national_day.value: Festival.NATIONAL,
    chinese_calendar.Holiday.mid_autumn_festival.value: Festival.MID_AUTUMN,
}


@dataclass(frozen=True, slots=True)
class HolidayBlock:
    """A run of days off around one festival (weekends glued to it included)."""

    festival: Festival
    first: date
    last: date


@functools.cache
def has_official_data(year: int) -> bool:
    """True when chinese-calendar knows the year; warns once per year when it does not."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        log.warning("workday_calendar_fallback", year=year, rule="Mon-Fri, no holidays")
        return False
    return True


def is_workday(d: date) -> bool:
    if has_official_data(d.year):
        return bool(chinese_calendar.is_workday(d))
    return d.weekday() < 5


def next_workday_after(d: date) -> date:
    d += timedelta(days=1)
    while not is_workday(d):
        d += timedelta(days=1)
    return d


def last_workday_before(d: date) -> date:
    d -= timedelta(days=1)
    while not is_workday(d):
        d -= timedelta(days=1)
    return d


def add_workdays(d: date, n: int) -> date:
    """The n-th workday after d (before it when n < 0); n == 0 gives d itself."""
    step = next_workday_after if n > 0 else last_workday_before
    for _ in range(abs(n)):
        d = step(d)
    return d


def workdays_between(start: date, end: date) -> int:
    """Workdays in (start, end]; negative when end is before start."""
    if end < start:
        return -workdays_between(end, start)
    return sum(1 for d in _days(start + timedelta(days=1), end) if is_workday(d))


def _days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def _official_festival(d: date) -> Festival | None:
    on_holiday, name = chinese_calendar.get_holiday_detail(d)
    return _CALENDAR_NAMES.get(name) if on_holiday and name else None


def _fallback_festival_days(year: int) -> dict[date, Festival]:
    """Statutory days of one year without official data: fixed dates plus lunar ones."""
    days: dict[date, Festival] = {date(year, 1, 1): Festival.NEW_YEAR}
    days |= dict.fromkeys((date(year, 5, 1), date(year, 5, 2)), Festival.LABOUR)
    days |= dict.fromkeys((date(year, 10, d) for d in (1, 2, 3)), Festival.NATIONAL)
    for day, term in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10)):
        if term == "清明":
            days[day] = Festival.TOMB_SWEEPING
    new_year = _lunar_to_solar(year, 1, 1)
    # 除夕 to 初三, four days since the 2025 rules.
    eve_to_third = _days(new_year - timedelta(days=1), new_year + timedelta(days=2))
    days |= dict.fromkeys(eve_to_third, Festival.SPRING)
    days[_lunar_to_solar(year, 5, 5)] = Festival.DRAGON_BOAT
    days[_lunar_to_solar(year, 8, 15)] = Festival.MID_AUTUMN
    return days


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    from handlers.extraction.jio import lunar_to_solar  # jionlp is heavy: only when needed

    return lunar_to_solar(year, month, day)


@functools.cache
def _fallback_days(year: int) -> dict[date, Festival]:
    return _fallback_festival_days(year)


def festival_on(d: date) -> Festival | None:
    if has_official_data(d.year):
        return _official_festival(d)
    return _fallback_days(d.year).get(d)


def _is_day_off(d: date) -> bool:
    return not is_workday(d) or festival_on(d) is not None


def holiday_block(festival: Festival | None, around: date) -> HolidayBlock | None:
    """The block of `festival` (any festival if None) that is under way on `around` or next."""
    for offset in range(_SEARCH_DAYS):
        d = around + timedelta(days=offset)
        found = festival_on(d)
        if found is None or (festival is not None and found != festival):
            continue
        first, last = d, d
        while _is_day_off(first - timedelta(days=1)):
            first -= timedelta(days=1)
        while _is_day_off(last + timedelta(days=1)):
            last += timedelta(days=1)
        return HolidayBlock(found, first, last)
    return None


def first_workday_after_holiday(festival: Festival | None, around: date) -> date | None:
    """国庆后第一个工作日 / 节后第一天: the first workday once the block is over."""
    block = holiday_block(festival, around)
    if block is None:
        return None
    d = block.last + timedelta(days=1)
    while _is_day_off(d):
        d += timedelta(days=1)
    return d


def last_workday_before_holiday(festival: Festival | None, around: date) -> date | None:
    """节前 / 国庆前: the last workday before the block starts."""
    block = holiday_block(festival, around)
    if block is None:
        return None
    d = block.first - timedelta(days=1)
    while _is_day_off(d):
        d -= timedelta(days=1)
    return d
