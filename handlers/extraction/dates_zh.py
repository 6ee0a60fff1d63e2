"""The Chinese time expressions jionlp misses or gets wrong: 月底前, 三天内/一周内 (it reads
一周内 as two days), 年底, and holidays on the official calendar (国庆后第一个工作日, 节前)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta

from handlers import workdays
from handlers.extraction.hits import TimeHit, add_months, last_day_of_month, small_number
from handlers.workdays import Festival

_NUM = r"\d{1,3}|[一二两三四五六七八九十]{1,3}"
_BEFORE = r"(?:前|之前|以前|为止)?"

_RELATIVE_RE = re.compile(
    rf"(?P<n>{_NUM}|半)\s*(?P<ge>个)?\s*(?P<unit>小时|钟头|分钟|天|日|周|星期|礼拜|月|工作日)"
    r"(?P<dir>以内|之内|内|以后|之后|后)"
)
_YEARS = {"今年": 0, "明年": 1, "下一年": 1, "下年": 1, "后年": 2, "去年": -1}
_MONTH_PART_RE = re.compile(
    rf"(?P<yr>{'|'.join(_YEARS)})?"
    rf"(?:(?:(?P<rel>本|这个?|当|下个?|下下个?)月|(?P<m>{_NUM})月)月?|月)"
    rf"(?P<part>底|末|中旬|中|下旬|上旬|初){_BEFORE}"
)
_YEAR_END_RE = re.compile(rf"(?:(?P<y>今|明|下|去)年年?|(?<![今明下去前\d])年)(?:底|末){_BEFORE}")

_CLOCK = (
    r"(?P<h>\d{1,2}|[一二两三四五六七八九十]{1,3})"
    r"(?:[点:：时](?P<half>半)?(?P<min>\d{1,2}|[一二三四五六七八九十]{1,3})?分?)?"
)
_TOMORROW_PART_RE = re.compile(rf"(?P<day>明|后)(?P<part>早|晨|晚)(?:上)?(?:{_CLOCK})?")

_FESTIVALS = {
    "元旦": Festival.NEW_YEAR,
    "春节": Festival.SPRING,
    "过年": Festival.SPRING,
    "清明": Festival.TOMB_SWEEPING,
    "五一": Festival.LABOUR,
    "劳动节": Festival.LABOUR,
    "端午": Festival.DRAGON_BOAT,
    "国庆": Festival.NATIONAL,
    "中秋": Festival.MID_AUTUMN,
}
_AFTER_WORDS = "结束后|结束以后|过后|之后|以后|后|回来后?|收假后|上班后"
_BEFORE_WORDS = "放假前|之前|以前|前"
_WHICH_DAY = "的?(?:第一个工作日|第一个上班日|上班第一天|开工第一天|第一天|第一周|第一个星期)"
_FESTIVAL_RE = re.compile(
    rf"(?:(?P<name>{'|'.join(_FESTIVALS)})"
    r"|(?<![一二三四五六七八九十两\d])(?P<oct>十一)(?![点号日月])"
    r"|(?<![\d一二三四五六七八九十两几多明今去前后半])(?P<lunar_year>年)(?=后|前)"
    r"|(?<![环细章关季情调礼春秋])(?P<any>节假日|节|长假|假期|放假))"
    r"(?:节|假期|长假|黄金周|假)?"
    rf"(?:(?P<after>{_AFTER_WORDS})(?:{_WHICH_DAY})?|(?P<before>{_BEFORE_WORDS}))"
)


def _relative(match: re.Match[str], now: datetime) -> tuple[date, datetime | None] | None:
    amount = small_number(match["n"])
    if amount is None:
        return None
    unit, today = match["unit"], now.date()
    if unit in ("小时", "钟头", "分钟"):
        moment = now + (timedelta(minutes=amount) if unit == "分钟" else timedelta(hours=amount))
        return moment.date(), moment
    if unit == "月" and not match["ge"] and amount != 0.5:
        return None  # "3月后" is "after March", not "in three months"
    if unit == "月":
        return (
            today + timedelta(days=15) if amount == 0.5 else add_months(today, int(amount))
        ), None
    if unit == "工作日":
        return workdays.add_workdays(today, int(amount)), None
    days = amount * 7 if unit in ("周", "星期", "礼拜") else amount
    return today + timedelta(days=round(days)), None


def _month_part(match: re.Match[str], today: date) -> date | None:
    rel, part = match["rel"], match["part"]
    if match["m"]:
        month = small_number(match["m"])
        if month is None or not 1 <= month <= 12:
            return None
        if match["yr"]:
            year = today.year + _YEARS[match["yr"]]
        else:
            year = today.year + (1 if month < today.month - 6 else 0)
        first = date(year, int(month), 1)
    else:
        ahead = (rel or "").count("下")
        first = add_months(today.replace(day=1), ahead)
    if part in ("底", "末", "下旬"):
        on = last_day_of_month(first.year, first.month)
    else:
        on = first.replace(day={"初": 1, "上旬": 10, "中": 15, "中旬": 20}[part])
    if on < today and not rel and not match["m"]:
        on = add_months(on, 1)  # a bare 月初/月中 already past means next month's
    return on


def _tomorrow_part(match: re.Match[str], today: date) -> TimeHit | None:
    """明早九点, 明晚, 后早8点: jionlp takes 明早九点 for today's 早九点."""
    on = today + timedelta(days=1 if match["day"] == "明" else 2)
    evening = match["part"] == "晚"
    if match["h"] is None:
        part = "晚上" if evening else "上午"
        return TimeHit(match.start(), match.end(), match.group(), on, None, part)
    hour = small_number(match["h"])
    minute = 30 if match["half"] else small_number(match["min"]) if match["min"] else 0
    if hour is None or minute is None or not 0 <= hour <= 23 or not 0 <= minute < 60:
        return None
    if evening and hour < 12:
        hour += 12
    at = time(int(hour), int(minute))
    return TimeHit(match.start(), match.end(), match.group(), on, at)


def _year_end(match: re.Match[str], today: date) -> date:
    shift = {"明": 1, "下": 1, "去": -1}.get(match["y"] or "", 0)
    return date(today.year + shift, 12, 31)


def _festival(match: re.Match[str], today: date) -> date | None:
    festival: Festival | None
    if match["name"]:
        festival = _FESTIVALS[match["name"]]
    elif match["oct"]:
        festival = Festival.NATIONAL
    elif match["lunar_year"]:
        festival = Festival.SPRING
    else:
        festival = None
    if match["after"]:
        return workdays.first_workday_after_holiday(festival, today)
    return workdays.last_workday_before_holiday(festival, today)


def _hits(
    pattern: re.Pattern[str], text: str, resolve: Callable[[re.Match[str]], date | None]
) -> Iterator[TimeHit]:
    for match in pattern.finditer(text):
        on = resolve(match)
        if on is not None:
            yield TimeHit(match.start(), match.end(), match.group(), on, None)


def find_gap_times(text: str, now: datetime) -> list[TimeHit]:
    """Hits for the expressions above; `now` is the naive local wall clock."""
    today = now.date()
    found: list[TimeHit] = []
    for match in _RELATIVE_RE.finditer(text):
        resolved = _relative(match, now)
        if resolved is not None:
            on, moment = resolved
            at = moment.time().replace(second=0, microsecond=0) if moment else None
            found.append(TimeHit(match.start(), match.end(), match.group(), on, at))
    found += _hits(_MONTH_PART_RE, text, lambda m: _month_part(m, today))
    for match in _TOMORROW_PART_RE.finditer(text):
        hit = _tomorrow_part(match, today)
        if hit is not None:
            found.append(hit)
    found += _hits(_YEAR_END_RE, text, lambda m: _year_end(m, today))
    found += _hits(_FESTIVAL_RE, text, lambda m: _festival(m, today))
    return found
