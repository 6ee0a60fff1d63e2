"""Amounts of money in yuan: 12.5万, 8万, 十二万五 (cn2an), 三十六万元, ¥125,000, RMB 30k."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from handlers.extraction.hits import chinese_number
from handlers.extraction.model import Found

_UNITS = {"亿": Decimal(100_000_000), "万": Decimal(10_000), "千": Decimal(1000)}
_UNITS |= {"k": Decimal(1000), "w": Decimal(10_000), "": Decimal(1)}
_CN_DIGITS = "零一二两三四五六七八九十百千万亿"

_ARABIC_RE = re.compile(
    r"(?P<cur>[¥￥]|RMB|CNY|人民币)?\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(?P<unit>亿|万|千|[kKwW](?![a-zA-Z]))?"
    # Spoken remainders after 万/亿/千: 12万5 (= 125 000), 12万5千, 12万5000; not 5万3月.
    r"(?:(?<=[亿万千])(?P<tail>\d+)(?P<tail_unit>千|百)?(?![\d.年月日号天周点个时分秒]))?"
    r"\s*(?P<yuan>元|块钱|块|yuan\b|RMB\b)?",
)
# A run of Chinese numerals is an amount only with 万/亿 in it or 元/块 after it (三天 is not).
_CHINESE_RE = re.compile(
    rf"(?<![{_CN_DIGITS}])(?P<num>[一二两三四五六七八九十][{_CN_DIGITS}点]*)(?P<yuan>元|块钱|块)?"
)


# Spoken round amounts: 一个亿, 两个亿, 三十来万 (about 300 000), 二十多万, 5个亿.
_ROUND_RE = re.compile(
    rf"(?<![{_CN_DIGITS}\d.])(?P<num>\d+(?:\.\d+)?|[一二两三四五六七八九十百千]+)"
    r"(?P<ge>个)?(?P<about>来|多|几)?(?P<unit>亿|万)(?P<yuan>元|块钱|块)?"
)
_ABOUT_RE = re.compile(r"来|多|几|左右|上下|大概|大约|约")


def is_approximate(text: str) -> bool:
    """An amount said as a round figure (三十来万, 二十多万, 大概十万左右): shown as "约"."""
    return bool(_ABOUT_RE.search(text))


def _round(match: re.Match[str]) -> Decimal | None:
    if not (match["ge"] or match["about"]):
        return None  # 12万 / 十二万五 are read by the patterns below
    words = match["num"]
    try:
        number = Decimal(words) if words[0].isdigit() else Decimal(str(chinese_number(words)))
    except (ValueError, KeyError, IndexError, InvalidOperation):
        return None
    return number * _UNITS[match["unit"]]


def _arabic(match: re.Match[str]) -> Decimal | None:
    if not (match["cur"] or match["unit"] or match["yuan"]):
        return None
    unit = (match["unit"] or "").lower()
    if unit in ("k", "w") and not (match["cur"] or match["yuan"]):
        return None  # "5k" alone could be anything
    try:
        value = Decimal(match["num"].replace(",", "")) * _UNITS[unit]
    except InvalidOperation:
        return None
    return value + _remainder(match["tail"], match["tail_unit"], _UNITS[unit])


def _remainder(tail: str | None, tail_unit: str | None, unit: Decimal) -> Decimal:
    """万5 is five thousand (the next place down), 万5千 too, 万5000 is what it says."""
    if not tail:
        return Decimal(0)
    if tail_unit:
        return Decimal(tail) * (Decimal(1000) if tail_unit == "千" else Decimal(100))
    if len(tail) == 1:
        return Decimal(tail) * unit / 10
    return Decimal(tail) if Decimal(tail) < unit else Decimal(0)


def _chinese(match: re.Match[str]) -> Decimal | None:
    words = match["num"]
    if not (match["yuan"] or "万" in words or "亿" in words):
        return None
    if words.startswith("万") or words.endswith("点"):
        return None
    try:
        return Decimal(str(chinese_number(words)))
    except (ValueError, KeyError, IndexError):
        return None


def _plain(value: Decimal) -> Decimal:
    """125000 rather than 1.25E+5 or 125000.0."""
    return Decimal(int(value)) if value == value.to_integral_value() else value.normalize()


def find_amount(text: str) -> Found[Decimal] | None:
    """The first amount of money in the text, in yuan."""
    found: list[tuple[int, int, Decimal]] = []
    for match in _ROUND_RE.finditer(text):
        value = _round(match)
        if value is not None:
            found.append((match.start(), match.end(), value))
    taken = [(start, end) for start, end, _ in found]
    for match in _ARABIC_RE.finditer(text):
        if any(start <= match.start() < end for start, end in taken):
            continue
        value = _arabic(match)
        if value is not None:
            found.append(
                (match.start("num") if not match["cur"] else match.start(), match.end(), value)
            )
    for match in _CHINESE_RE.finditer(text):
        if any(start <= match.start() < end for start, end in taken):
            continue
        value = _chinese(match)
        if value is not None:
            found.append((match.start(), match.end(), value))
    if not found:
        return None
    start, end, value = min(found, key=lambda item: item[0])
    end = start + len(text[start:end].rstrip())
    return Found(_plain(value), (start, end))


def parse_amount(value: str) -> Decimal | None:
    """A typed correction: the same forms, plus a bare number of yuan ("125000")."""
    value = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return _plain(Decimal(value))
    found = find_amount(value)
    return found.value if found else None
