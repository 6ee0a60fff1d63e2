"""Quiet hours: a non-urgent push that falls in them waits for the morning."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.rules import QuietHours


def quiet_until(now: datetime, quiet: QuietHours, tz: ZoneInfo) -> datetime | None:
    """When the quiet period `now` falls in ends (aware UTC), or None if it is not quiet."""
    local = now.astimezone(tz)
    start, end = quiet.start, quiet.end
    if start == end:
        return None
    t = local.timetz().replace(tzinfo=None)
    wraps = start > end  # 21:00 → 08:30 crosses midnight
    in_quiet = (t >= start or t < end) if wraps else (start <= t < end)
    if not in_quiet:
        return None
    day = local.date()
    if wraps and t >= start:
        day += timedelta(days=1)
    return _at(day, end, tz)


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
