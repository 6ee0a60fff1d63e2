"""Leading place names in company names (杭州智联科技 → 智联科技), from jionlp's location tables."""

from __future__ import annotations

import functools

from handlers.extraction.jio import china_place_names


@functools.cache
def _places_longest_first() -> tuple[str, ...]:
    return tuple(sorted(_places(), key=len, reverse=True))


def is_place(name: str) -> bool:
    return name in _places()


@functools.cache
def _places() -> frozenset[str]:
    return frozenset(china_place_names())


def strip_place(name: str) -> str:
    """The name without a province or city in front, when three characters or more remain."""
    for place in _places_longest_first():
        if name.startswith(place) and len(name) - len(place) >= 3:
            return name[len(place) :]
    return name
