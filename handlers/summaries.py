"""A follow-up's summary: one line of at most 60 characters, built from what was extracted."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from handlers.extraction import Extraction
from handlers.extraction.clauses import split_clauses
from handlers.extraction.log_lines import format_amount

MAX_CHARS = 60
GIST_CHARS = 24
_SPACES = re.compile(r"\s+")
_EDGES = " ，,。.；;:：、"


def one_line_summary(extraction: Extraction, tz: ZoneInfo) -> str:
    """联系人｜what happened｜金额｜下一步 and its day — never the whole note."""
    parts: list[str] = []
    if extraction.contact:
        parts.append(extraction.contact.value)
    gist = _gist(extraction)
    if gist:
        parts.append(gist)
    if extraction.amount_yuan:
        parts.append(f"金额{format_amount(extraction.amount_yuan.value)}")
    if extraction.stage:
        parts.append(f"阶段→{extraction.stage.value}")
    if extraction.next_action:
        step = f"下一步：{extraction.next_action.value}"
        if extraction.due:
            local = extraction.due.value.at.astimezone(tz)
            step += f"（{local.month}月{local.day}日）"
        parts.append(step)
    line = "｜".join(parts) or extraction.text
    return _clip(_SPACES.sub(" ", line).strip())


def _gist(extraction: Extraction) -> str:
    """The first clause telling what happened, without the customer's name (the log shows it)."""
    text = extraction.text
    skip = {extraction.next_action.span} if extraction.next_action else set()
    for clause in split_clauses(text):
        if (clause.start, clause.end) in skip:
            continue
        words = clause.text
        found = extraction.customer
        if found and found.span and clause.start <= found.span[0] < clause.end:
            start, end = found.span[0] - clause.start, found.span[1] - clause.start
            words = words[:start] + words[end:]
        if extraction.contact and extraction.contact.span:
            words = words.replace(extraction.contact.value, "", 1)
        words = words.strip(_EDGES)
        words = re.sub(r"^(?:那边|这边|那里|方面|的)", "", words).strip(_EDGES)
        if len(words) >= 2:
            return _clip(words, GIST_CHARS)
    return ""


def _clip(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
