"""Is a new customer one the company already has? Names compared normalized (legal suffixes,
city prefixes, full/half width, traditional/simplified), by pinyin and by fuzzy ratio."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.extraction.normalize import normalise_note
from handlers.extraction.places import strip_place
from storage.models import Customer

SAME_RATIO = 88.0  # rapidfuzz ratio of the normalized names (or their pinyin) at or above: same
MIN_CORE = 2  # a core shorter than this (after stripping) is compared as it was written
_LEGAL = re.compile(
    r"(?:股份有限公司|有限责任公司|集团股份有限公司|集团有限公司|有限公司|股份公司|集团公司|总公司|分公司"
    r"|集团|股份|公司|co\.?,?\s*ltd\.?|ltd\.?|inc\.?|corp\.?|limited|llc|gmbh)$",
    re.IGNORECASE,
)
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")
_JUNK = re.compile(r"[\s·.,，。、\-_'\"]+")


@dataclass(frozen=True, slots=True)
class Match:
    customer: Customer
    ratio: float
    how: str  # "normalized" | "pinyin" | "fuzzy"


def core_name(name: str) -> str:
    """杭州启明科技有限公司 / 杭州啟明科技（集团） / ＨＡＮＧＺＨＯＵ… → 启明科技."""
    text = normalise_note(unicodedata.normalize("NFKC", name)).casefold()
    text = _BRACKETS.sub("", text)
    text = _JUNK.sub("", text)
    for _ in range(3):  # 集团有限公司, 股份 + 公司: peel them one by one
        stripped = _LEGAL.sub("", text)
        if stripped == text:
            break
        text = stripped
    placeless = strip_place(text)
    return placeless if len(placeless) >= MIN_CORE else text


def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin  # 0.4 s to import: on first use

    return "".join(lazy_pinyin(text))


def compare(new_name: str, known: str) -> tuple[float, str]:
    a, b = core_name(new_name), core_name(known)
    if not a or not b:
        return 0.0, ""
    if a == b:
        return 100.0, "normalized"
    pa, pb = _pinyin(a), _pinyin(b)
    if pa == pb:
        return 99.0, "pinyin"
    ratio = max(fuzz.ratio(a, b), fuzz.ratio(pa, pb) if min(len(pa), len(pb)) >= 6 else 0.0)
    return float(ratio), "fuzzy"


def best_match(name: str, customers: Iterable[Customer]) -> Match | None:
    """The existing customer `name` most likely is (name or alias), if it is close enough."""
    best: Match | None = None
    for customer in customers:
        for known in (customer.name, *(customer.aliases or ())):
            ratio, how = compare(name, known)
            if ratio >= SAME_RATIO and (best is None or ratio > best.ratio):
                best = Match(customer, ratio, how)
    return best


async def find_duplicate(db: AsyncSession, name: str) -> Match | None:
    """Among every customer of the company, whoever owns it."""
    customers = (await db.execute(select(Customer))).scalars().all()
    return best_match(name, customers)
