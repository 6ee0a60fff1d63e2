"""The follow-up log a note turns into, and the interface every extraction engine fits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")

# The funnel of config/rules_default.yaml; callers with their own rules pass `stages`.
DEFAULT_STAGES: tuple[str, ...] = ("线索", "意向", "方案", "谈判", "成交", "丢单")

# A date said without a time of day is due at the end of that working day (18:00 local): the
# reminder still fires while the rep is at work, and "周五前" reads as "before Friday's close".
DATE_ONLY_HOUR = 18
# A part of the day without a clock time: due at its end, as reps mean "上午给" (by noon).
DAY_PART_HOURS: dict[str, int] = {"上午": 12, "下午": 18, "晚上": 21}


@dataclass(frozen=True, slots=True)
class CustomerRef:
    id: int
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """A field and where it came from: char offsets into the normalised note (None: not from it)."""

    value: T
    span: tuple[int, int] | None
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Due:
    at: datetime  # aware, UTC
    has_time: bool  # False: only a date was said and `at` is DATE_ONLY_HOUR local
    text: str  # the words it came from
    part: str | None = None  # 上午/下午/晚上 said without a clock time: `at` is its default hour


@dataclass(frozen=True, slots=True)
class Extraction:
    text: str
    customer: Found[CustomerRef] | None
    customer_candidates: tuple[CustomerRef, ...]
    contact: Found[str] | None
    summary: str
    next_action: Found[str] | None
    due: Found[Due] | None
    commitment: Found[str] | None
    stage: Found[str] | None
    amount_yuan: Found[Decimal] | None
    engine: str = "rules"


class Extractor(Protocol):
    async def extract(
        self, text: str, *, now: datetime, tz: ZoneInfo, customers: Sequence[CustomerRef]
    ) -> Extraction: ...
