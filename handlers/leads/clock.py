"""The first-touch clock: so many hours counted only in business time (workdays, set hours)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.rules import Rules
from handlers.workdays import is_workday

MAX_DAYS = 400  # a clock never needs more; bad rules must not loop forever


def touch_hours(rules: Rules, source: str) -> int:
    return rules.leads.touch_hours_by_source.get(source, rules.lead_touch_hours)


def add_business_hours(start: datetime, hours: float, rules: Rules, tz: ZoneInfo) -> datetime:
    """`start` + `hours` of business time: a lead of Friday 20:00 with 24 h is due Monday 20:00."""
    left = timedelta(hours=hours)
    local = start.astimezone(tz)
    day = local.date()
    opens, closes = rules.leads.business_start, rules.leads.business_end
    for _ in range(MAX_DAYS):
        if is_workday(day):
            day_open = datetime.combine(day, opens, tzinfo=tz)
            day_close = (
                datetime.combine(day, closes, tzinfo=tz)
                if closes is not None
                else datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
            )
            begin = max(day_open, local)
            if begin < day_close:
                available = day_close - begin
                if left <= available:
                    return (begin + left).astimezone(UTC)
                left -= available
        day += timedelta(days=1)
        local = datetime.combine(day, time(0), tzinfo=tz)
    raise ValueError("lead clock: no business time within a year; check leads.business_* rules")
