"""Local times: as reps read them (short, with the weekday), and a local day's start in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

WEEKDAYS = "一二三四五六日"


def format_local(at: datetime, tz: ZoneInfo, *, with_time: bool = True) -> str:
    local = at.astimezone(tz)
    day = f"{local.month}月{local.day}日(周{WEEKDAYS[local.weekday()]})"
    return f"{day} {local:%H:%M}" if with_time else day


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a day in the company's timezone, as a UTC moment."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
