"""Numbers typed in chat: ASCII or full-width digits only, and within what a column can hold."""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # INTEGER on PostgreSQL; SQLite's is wider, but one limit for both
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_INTEGER = re.compile(r"[0-9]{1,12}", re.ASCII)
_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?", re.ASCII)


def ascii_digits(text: str) -> str:
    """Full-width digits (what a Chinese IME types) as ASCII; everything else unchanged."""
    return text.translate(_FULL_WIDTH)


def parse_int(text: str, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """The integer `text` spells, if it is digits only and in [low, high]; else None.

    `"²".isdigit()` is True and `int("٣")` is 3: neither is a number a rep meant to type.
    """
    digits = ascii_digits(text.strip())
    if not _INTEGER.fullmatch(digits):
        return None
    value = int(digits)
    return value if low <= value <= high else None


def parse_id(text: str) -> int | None:
    """A row id typed by a user (任务 #12, A7, 确认 12): a positive 32-bit integer or None."""
    return parse_int(text, low=1)


def parse_decimal(text: str, *, high: float) -> float | None:
    """A short decimal (1.5 小时) in (0, high], or None."""
    digits = ascii_digits(text.strip())
    if not _DECIMAL.fullmatch(digits):
        return None
    value = float(digits)
    return value if 0 < value <= high else None
