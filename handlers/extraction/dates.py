"""Due dates: every time expression in a note (jionlp first, our rules for its gaps, English),
resolved in the company timezone and returned as aware UTC."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.extraction.dates_en import find_english_times
from handlers.extraction.dates_zh import find_gap_times
from handlers.extraction.hits import (
    TimeHit,
    add_months,
    local_moment,
    next_occurrence_of_month_day,
    overlaps,
)
from handlers.extraction.jio import JioTime, extract_times
from handlers.extraction.model import DATE_ONLY_HOUR, DAY_PART_HOURS, Due
from handlers.extraction.normalize import normalise_note

_SAYS_HOUR_RE = re.compile(r"\d{1,2}:\d{2}|[\d一二两三四五六七八九十]\s*[点时]")
_SAYS_MINUTE_RE = re.compile(r"\d{1,2}:\d{2}|点半|刻|[\d一二三四五六七八九十]\s*分")
_MORNING_RE = re.compile(r"凌晨|早上|早晨|上午|清早|早")
_BEFORE_SUFFIXES = ("前", "之前", "以前", "为止", "内", "以内", "之内")
_AFTER_SUFFIXES = ("后", "之后", "以后", "开始", "起")
_BARE_WEEKDAY_RE = re.compile(r"^(?:周|星期|礼拜)[一二三四五六日天1-7]")
_THIS_WEEK_RE = re.compile(r"^(?:这|本)(?:个)?(?:周|星期|礼拜)")
_BARE_MONTH_DAY_RE = re.compile(r"^(?P<m>\d{1,2}|[一二三四五六七八九十]{1,3})月(?P<d>[^年]*)$")
_BARE_DAY_RE = re.compile(r"^(?:\d{1,2}|[一二三四五六七八九十]{1,3})[号日]")
_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
_DAY_PART_RE = re.compile(
    r"(?P<am>上午|早上|中午前)|(?P<pm>下午)|(?P<night>今晚|明晚|晚上|傍晚|晚)"
)


def day_part(text: str) -> str | None:
    """The part of the day a phrase names without a clock time (上午 / 下午 / 晚上), if any."""
    match = _DAY_PART_RE.search(text)
    if match is None:
        return None
    return "上午" if match["am"] else "下午" if match["pm"] else "晚上"


def _clock(item: JioTime, moment: datetime, from_end: bool) -> time | None:
    if not _SAYS_HOUR_RE.search(item.text):
        return None
    hour, minute = moment.hour, moment.minute
    if from_end and not _SAYS_MINUTE_RE.search(item.text):
        minute = 0  # jionlp ends "十点前" at 10:59:59; the rep meant 10:00
    if 1 <= hour <= 6 and not _MORNING_RE.search(item.text):
        hour += 12  # "明天3点" in a sales note is 15:00, not 03:00
    return time(hour, minute)


def _rolled_forward(item: JioTime, on: date, today: date) -> date:
    """jionlp reads a bare 周一 / 1月5号 / 15号 in this week, year, month: roll past ones on."""
    if on >= today:
        return on
    if _BARE_WEEKDAY_RE.match(item.text):
        return on + timedelta(days=7)
    if _THIS_WEEK_RE.match(item.text) and today.weekday() == 6:
        return on + timedelta(days=7)  # on a Sunday, 这周三 is the one coming, not four days ago
    if _BARE_MONTH_DAY_RE.match(item.text):
        rolled = next_occurrence_of_month_day(on.month, on.day, today)
        return rolled or on
    if _BARE_DAY_RE.match(item.text):
        return add_months(on, 1)
    return on


def _from_jionlp(item: JioTime, today: date) -> TimeHit | None:
    if item.kind not in ("time_point", "time_span"):
        return None
    from_end = item.kind == "time_span" and (
        item.first is None or item.text.endswith(_BEFORE_SUFFIXES)
    )
    if item.kind == "time_span" and not from_end and not item.text.endswith(_AFTER_SUFFIXES):
        from_end = item.last is not None  # "下周一到周三": due at the end
    moment = item.last if from_end else item.first
    if moment is None:
        return None
    on = _rolled_forward(item, moment.date(), today)
    at = _clock(item, moment, from_end)
    part = day_part(item.text) if at is None else None
    return TimeHit(item.start, item.end, item.text, on, at, part)


def _masked(text: str, taken: Sequence[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in taken:
        chars[start:end] = "，" * (end - start)
    return "".join(chars)


def find_times(
    text: str, now_local: datetime, *, skip: Sequence[tuple[int, int]] = ()
) -> list[TimeHit]:
    """All time expressions in a normalised note, in text order; `now_local` is naive local.
    `skip`: spans that are names, not time (a customer called 明天科技)."""
    text = _masked(text, skip)
    found = find_gap_times(text, now_local) + find_english_times(text, now_local)
    found = _without_overlaps(found)
    if _HAN_RE.search(text):
        masked = _masked(text, [(hit.start, hit.end) for hit in found])
        for item in extract_times(masked, now_local):
            hit = _from_jionlp(item, now_local.date())
            if hit is not None and not overlaps(hit, [(h.start, h.end) for h in found]):
                found.append(hit)
    return sorted(found, key=lambda hit: hit.start)


def _without_overlaps(hits: list[TimeHit]) -> list[TimeHit]:
    kept: list[TimeHit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
        if not overlaps(hit, [(h.start, h.end) for h in kept]):
            kept.append(hit)
    return kept


def to_due(hit: TimeHit, tz: ZoneInfo) -> Due:
    hour = DAY_PART_HOURS.get(hit.part or "", DATE_ONLY_HOUR)
    local = local_moment(hit, hour).replace(tzinfo=tz)
    return Due(at=local.astimezone(UTC), has_time=hit.at is not None, text=hit.text, part=hit.part)


def is_upcoming(hit: TimeHit, now_local: datetime) -> bool:
    """Not yet past: a day from today on, or today at a clock time still ahead."""
    if hit.at is None:
        return hit.on >= now_local.date()
    return local_moment(hit, DATE_ONLY_HOUR) > now_local


def parse_due(text: str, *, now: datetime, tz: ZoneInfo) -> Due | None:
    """A bare time phrase ("下周三17:00", "明天", "3月10日", "by Friday") → Due, past or not."""
    normalised = normalise_note(text)
    now_local = now.astimezone(tz).replace(tzinfo=None)
    hits = find_times(normalised, now_local)
    if not hits:
        return None
    hit = max(hits, key=lambda h: (h.end - h.start, h.at is not None))
    return to_due(hit, tz)
