"""Times as reps read them: local, short, with the weekday."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

WEEKDAYS = "一二三四五六日"


def format_local(at: datetime, tz: ZoneInfo, *, with_time: bool = True) -> str:
    local = at.astimezone(tz)
    day = f"{local.month}月{local.day}日(周{WEEKDAYS[local.weekday()]})"
    return f"{day} {local:%H:%M}" if with_time else day
