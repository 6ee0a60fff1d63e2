"""Board time windows in the company's timezone: today, this week, this month and the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Period(StrEnum):
    TODAY = "today"
    WEEK = "week"
    MONTH = "month"


PERIOD_LABELS = {
    Period.TODAY: ("今日", "昨日"),
    Period.WEEK: ("本周", "上周"),
    Period.MONTH: ("本月", "上月"),
}


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive


@dataclass(frozen=True, slots=True)
class PeriodWindows:
    period: Period
    current: Window
    previous: Window

    @property
    def label(self) -> str:
        return PERIOD_LABELS[self.period][0]

    @property
    def previous_label(self) -> str:
        return PERIOD_LABELS[self.period][1]


def parse_period(value: str | None) -> Period:
    try:
        return Period(value) if value else Period.WEEK
    except ValueError:
        return Period.WEEK


def windows_for(period: Period, *, now: datetime, tz: ZoneInfo) -> PeriodWindows:
    today = now.astimezone(tz).date()
    if period == Period.TODAY:
        start, prev_start, end = today, today - timedelta(days=1), today + timedelta(days=1)
    elif period == Period.WEEK:
        start = today - timedelta(days=today.weekday())
        prev_start, end = start - timedelta(days=7), start + timedelta(days=7)
    else:
        start = today.replace(day=1)
        prev_start = (start - timedelta(days=1)).replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    cur = Window(_at(start, tz), _at(end, tz))
    return PeriodWindows(period, cur, Window(_at(prev_start, tz), cur.start))


def all_windows(*, now: datetime, tz: ZoneInfo) -> list[PeriodWindows]:
    return [windows_for(p, now=now, tz=tz) for p in Period]


def weeks_back(count: int, *, now: datetime, tz: ZoneInfo) -> list[Window]:
    """The last `count` calendar weeks (Monday first), oldest first, this week included."""
    this_week = windows_for(Period.WEEK, now=now, tz=tz).current.start.astimezone(tz).date()
    starts = [this_week - timedelta(weeks=n) for n in range(count - 1, -1, -1)]
    return [Window(_at(s, tz), _at(s + timedelta(days=7), tz)) for s in starts]


def _at(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
