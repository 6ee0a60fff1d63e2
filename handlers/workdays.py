"""Business days on the official Chinese calendar (make-up workdays included): chinese-calendar
where it knows the year, else the year's table from the rules file (`holidays: {2027: {off: [...],
work: [...]}}`), else Mon–Fri (logged for operators); and the holiday blocks behind 节后/国庆后.

The rules' tables are process-wide: `use_holidays()` installs them when a Context is made (one
rules file per process), and clears the caches that depend on them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import chinese_calendar
import structlog

from config.rules import HolidayYear

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


@dataclass(frozen=True, slots=True)
class _Table:
    off: frozenset[date]
    work: frozenset[date]


_tables: dict[int, _Table] = {}  # from the rules file: years chinese-calendar lacks
_cleared_on_change: list[Callable[[], None]] = []


def use_holidays(years: Mapping[int, HolidayYear]) -> None:
    """Install the rules file's holiday tables (a no-op when they are the ones installed)."""
    wanted = {y: _Table(frozenset(t.off), frozenset(t.work)) for y, t in years.items()}
    if wanted == _tables:
        return
    _tables.clear()
    _tables.update(wanted)
    for clear in _cleared_on_change:
        clear()


def clears_on_change(cached: Callable[[], None]) -> None:
    """Register a cache_clear() that must run when the holiday tables change."""
    _cleared_on_change.append(cached)


@functools.cache
def has_official_data(year: int) -> bool:
    """True when chinese-calendar knows the year."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class Source(StrEnum):
    OFFICIAL = "chinese-calendar"
    RULES = "rules file"
    FALLBACK = "weekends only"


def calendar_source(year: int) -> Source:
    if has_official_data(year):
        return Source.OFFICIAL
    if year in _tables:
        return Source.RULES
    return Source.FALLBACK


@functools.cache
def _warn_fallback(year: int) -> None:
    # For operators (the service log at INFO); never printed into a chat or the shell.
    log.info("workday_calendar_fallback", year=year, rule="Mon-Fri, no holidays")


_cleared_on_change.append(_warn_fallback.cache_clear)


def is_workday(d: date) -> bool:
    if has_official_data(d.year):
        return bool(chinese_calendar.is_workday(d))
    table = _tables.get(d.year)
    if table is not None:
        return d in table.work or (d.weekday() < 5 and d not in table.off)
    _warn_fallback(d.year)
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
    table = _tables.get(d.year)
    if table is None:
        return _fallback_days(d.year).get(d)
    if d not in table.off:
        return None
    # A listed day off: the statutory festival it belongs to is the nearest one (same block).
    near = sorted(
        ((abs((f - d).days), f) for f in _fallback_days(d.year)),
        key=lambda pair: pair[0],
    )
    return _fallback_days(d.year)[near[0][1]] if near and near[0][0] <= 7 else None


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


def shift_to_workday(at: datetime, tz: ZoneInfo) -> datetime:
    """The same wall-clock time on the next workday if `at` falls on a day off."""
    local = at.astimezone(tz)
    if is_workday(local.date()):
        return at
    day = next_workday_after(local.date())
    return datetime.combine(day, local.time(), tz).astimezone(UTC)


def add_work_hours(at: datetime, hours: float, tz: ZoneInfo) -> datetime:
    """`hours` later, counting only the hours of workdays (a day off does not run the clock)."""
    left = timedelta(hours=hours)
    cursor = at.astimezone(tz)
    while True:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), tz)
        if is_workday(cursor.date()):
            if cursor + left <= midnight:
                return (cursor + left).astimezone(UTC)
            left -= midnight - cursor
        cursor = midnight


def add_work_days_at(at: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The same wall-clock time `days` workdays later."""
    local = at.astimezone(tz)
    day = add_workdays(local.date(), days)
    return datetime.combine(day, local.time(), tz).astimezone(UTC)
