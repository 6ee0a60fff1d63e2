"""Small pieces of the plain Chinese our pushes are written in: a short quote, a day, a span."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.card_fit import split_text
from handlers.timefmt import format_local

QUOTE_CHARS = 30


def quote(note: str, chars: int = QUOTE_CHARS) -> str:
    """A note shortened at a word or clause boundary, never mid-word: 「电话沟通了报价…」."""
    flat = " ".join(note.split())
    head = split_text(flat, chars)[0] if flat else ""
    return f"「{head}{'…' if len(head) < len(flat) else ''}」"


def day(at: datetime, tz: ZoneInfo) -> str:
    """11月21日(周六): the day is what people remember of a past event."""
    return format_local(at, tz, with_time=False)


def unit(business_days: bool) -> str:
    return "个工作日" if business_days else "天"
