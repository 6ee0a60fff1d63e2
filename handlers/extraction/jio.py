"""The one door to jionlp (Chinese time expressions, lunar dates): imported lazily and once, its
import banner kept off stdout, its answers turned into plain typed values."""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from types import ModuleType
from typing import Any

# jionlp takes ~0.3-0.7 s to import and ~0.2 s more on its first call: engine.warm_up() pays
# both up front. After that a note costs ~0.3 ms in it, which it earns: it reads most of the
# Chinese time expressions (weekdays, dates, clock times, spans) that we would otherwise re-write.


@functools.cache
def _jionlp() -> ModuleType:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a banner on import
        return importlib.import_module("jionlp")


def jionlp_module() -> ModuleType:
    """The jionlp module itself, for its dictionaries (handlers/extraction/wordfreq.py)."""
    return _jionlp()


@dataclass(frozen=True, slots=True)
class JioTime:
    text: str
    start: int
    end: int
    kind: str  # "time_point", "time_span", "time_delta" or "time_period"
    first: datetime | None  # None: open start (-inf) or not a point in time
    last: datetime | None  # None: open end (inf) or not a point in time
    is_blur: bool


def _wall_clock(value: Any) -> datetime | None:
    if not isinstance(value, str) or value in ("inf", "-inf"):
        return None
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - local wall clock


def extract_times(text: str, base: datetime) -> list[JioTime]:
    """Time expressions in `text`, read relative to `base` (a naive local wall-clock time)."""
    time_base = {
        "year": base.year,
        "month": base.month,
        "day": base.day,
        "hour": base.hour,
        "minute": base.minute,
        "second": base.second,
    }
    try:
        raw = _jionlp().ner.extract_time(text, time_base=time_base, with_parsing=True)
    except Exception:  # a parser bug on odd input must not cost the note
        return []
    found: list[JioTime] = []
    for item in raw:
        detail = item.get("detail", {})
        times = detail.get("time")
        first = last = None
        if isinstance(times, list) and len(times) == 2:
            first, last = _wall_clock(times[0]), _wall_clock(times[1])
        start, end = item["offset"]
        if text[start:end] != item["text"]:
            start = text.find(item["text"])
            if start < 0:
                continue
            end = start + len(item["text"])
        blur = detail.get("definition") == "blur"
        found.append(JioTime(item["text"], start, end, item["type"], first, last, blur))
    return found


def lunar_to_solar(year: int, month: int, day: int) -> date:
    return _jionlp().lunar2solar(year, month, day).date()  # type: ignore[no-any-return]


def china_place_names() -> set[str]:
    """Provinces and cities, full names and short ones (浙江省, 浙江, 杭州市, 杭州)."""
    names: set[str] = set()

    def add(entry: dict[str, Any]) -> None:
        alias = entry.get("_alias", [])
        names.update([entry.get("_full_name", "")], [alias] if isinstance(alias, str) else alias)

    for province in _jionlp().china_location_loader().values():
        add(province)
        for key, city in province.items():
            if not key.startswith("_") and isinstance(city, dict):
                add(city)
    return {name for name in names if len(name) >= 2}
