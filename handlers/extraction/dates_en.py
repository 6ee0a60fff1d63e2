"""English due dates in notes: "by next Tuesday", "tomorrow at 2pm", "March 10", "in 3 days"."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, time, timedelta

from handlers import workdays
from handlers.extraction.hits import (
    TimeHit,
    add_months,
    last_day_of_month,
    next_occurrence_of_month_day,
)

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_NUMBERS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "fourteen": 14, "thirty": 30}

# Full names, and only the abbreviations that are not also common words (sat, sun, mar).
_WEEKDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mon|tues?|wed|thu(?:rs?)?|fri)\b\.?"
)
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?"
)
_COUNT = rf"(?:\d+|{'|'.join(_NUMBERS)})"
_DATE = (
    r"(?:the\s+)?day\s+after\s+tomorrow|today|tonight|tomorrow|tmrw?"
    rf"|(?:this|next|coming)\s+{_WEEKDAY}|{_WEEKDAY}"
    r"|(?:next|this)\s+(?:week|month)|end\s+of\s+(?:the\s+|this\s+)?(?:week|month|year)"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}"
    r"|\d{4}-\d{2}-\d{2}"
    rf"|(?:in|within)\s+{_COUNT}\s+(?:business\s+|working\s+)?(?:days?|weeks?|months?)"
    rf"|{_COUNT}\s+(?:days?|weeks?)\s+(?:from\s+now|later)"
)
_TIME = r"noon|\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|(?:at\s+)?\d{1,2}:\d{2}|at\s+\d{1,2}\b"
_WORTH_READING_RE = re.compile(r"[A-Za-z]|\d{4}-\d{2}-\d{2}")


@functools.cache
def _phrase_re() -> re.Pattern[str]:
    """Compiled on first use: ~80 ms, paid by the first English note, not by every import."""
    return re.compile(
        rf"(?:\b(?:by|before|on|until|no\s+later\s+than|due)\s+)?"
        rf"(?:\b(?:{_DATE})\b(?:\s*,?\s*(?:at\s+)?(?:{_TIME}))?"
        rf"|(?:at\s+)?(?:{_TIME})(?:\s+(?:on\s+)?\b(?:{_DATE})\b)?)",
        re.IGNORECASE,
    )


@functools.cache
def _date_re() -> re.Pattern[str]:
    return re.compile(rf"\b(?:{_DATE})\b", re.IGNORECASE)


_TIME_RE = re.compile(
    r"(?P<noon>noon)|(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<half>am|pm|a\.m\.|p\.m\.)"
    r"|(?P<h2>\d{1,2}):(?P<m2>\d{2})|at\s+(?P<h3>\d{1,2})\b",
    re.IGNORECASE,
)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _weekday_on(words: str, today: date) -> date:
    parts = words.lower().split()
    target = _WEEKDAYS.index(parts[-1][:3])
    monday = today - timedelta(days=today.weekday())
    if parts[0] == "next":  # like 下周三: that weekday in next week
        return monday + timedelta(days=7 + target)
    if parts[0] == "this":
        return monday + timedelta(days=target)
    return today + timedelta(days=(target - today.weekday()) % 7 or 7)


def _relative_on(words: str, today: date) -> date:
    match = re.search(rf"({_COUNT})\s+(business\s+|working\s+)?(day|week|month)", words, re.I)
    assert match is not None  # noqa: S101 - _DATE only lets such phrases through
    n, unit = _count(match[1]), match[3].lower()
    if match[2]:
        return workdays.add_workdays(today, n)
    if unit == "month":
        return add_months(today, n)
    return today + timedelta(days=n * (7 if unit == "week" else 1))


def _date_on(words: str, today: date) -> date | None:
    lowered = " ".join(words.lower().split())
    if "day after tomorrow" in lowered:
        return today + timedelta(days=2)
    if lowered in ("today", "tonight"):
        return today
    if lowered.startswith(("tomorrow", "tmr")):
        return today + timedelta(days=1)
    if lowered.startswith("end of"):
        if lowered.endswith("week"):
            return today + timedelta(days=4 - today.weekday()) if today.weekday() <= 4 else today
        if lowered.endswith("year"):
            return date(today.year, 12, 31)
        return last_day_of_month(today.year, today.month)
    if lowered.endswith("week"):
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(days=7) if lowered.startswith("next") else today
    if lowered.endswith("month"):
        return add_months(today.replace(day=1), 1) if lowered.startswith("next") else today
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", lowered):
        return date.fromisoformat(lowered)
    if re.search(r"\b(in|within|from now|later)\b", lowered):
        return _relative_on(lowered, today)
    month = re.search(_MONTH, lowered)
    day = re.search(r"\d{1,2}", lowered)
    if month and day:
        month_number = _MONTHS.index(month[0][:3]) + 1
        return next_occurrence_of_month_day(month_number, int(day[0]), today)
    return _weekday_on(lowered, today)


def _clock(words: str, is_evening: bool) -> time | None:
    match = _TIME_RE.search(words)
    if match is None:
        return None
    if match["noon"]:
        return time(12)
    hour = int(match["h"] or match["h2"] or match["h3"])
    minute = int(match["m"] or match["m2"] or 0)
    half = (match["half"] or "").lower().replace(".", "")
    if (half == "pm" and hour < 12) or (not half and (is_evening or 1 <= hour <= 6)):
        hour += 12  # "at 3" in a sales note is 15:00; "tonight at 8" is 20:00
    if half == "am" and hour == 12:
        hour = 0
    return time(hour % 24, minute) if minute < 60 else None


def find_english_times(text: str, now: datetime) -> list[TimeHit]:
    today = now.date()
    found: list[TimeHit] = []
    if not _WORTH_READING_RE.search(text):
        return found
    for match in _phrase_re().finditer(text):
        words = match.group()
        date_match = _date_re().search(words)
        if date_match is None and not re.search(r"[a-z]", words, re.IGNORECASE):
            continue  # a bare 10:00 belongs to the Chinese around it (3月10日10:00)
        try:
            on = _date_on(date_match.group(), today) if date_match else today
        except ValueError:
            continue
        at = _clock(
            words[: date_match.start()] + words[date_match.end() :] if date_match else words,
            is_evening="tonight" in words.lower(),
        )
        if on is None or (date_match is None and at is None):
            continue
        if date_match is None and at is not None and at <= now.time():
            on = today + timedelta(days=1)  # "at 3pm" said at 16:00 means tomorrow
        found.append(TimeHit(match.start(), match.end(), words.strip(), on, at))
    return found
