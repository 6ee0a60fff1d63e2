"""How common a Chinese word is: jionlp's word counts over a large segmented corpus, loaded
lazily and once (~0.7 s, ~20 MB), for telling a misheard span from a real word."""

from __future__ import annotations

import functools

from handlers.extraction.jio import jionlp_module
from handlers.extraction.sounds import is_han


@functools.cache
def _counts() -> dict[str, int]:
    table = jionlp_module().word_distribution_loader()
    return {
        word: int(info["total_num"])
        for word, info in table.items()
        if 2 <= len(word) <= 6 and all(map(is_han, word))
    }


def word_count(word: str) -> int:
    """How often `word` stands as a word in the corpus (0: never, or not a Chinese word)."""
    return _counts().get(word, 0)


def warm_up() -> None:
    _counts()
