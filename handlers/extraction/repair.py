"""Sound-alike repair of a whole voice transcript before it is read: spans that sound like a word
of the sales lexicon (和同 → 合同, 省屁 → 审批, 反亏 → 反馈) are replaced by it.

A span is replaced only when the match is clearly better than what is written:
- it sounds the same (pinyin without tones, the usual confusions merged: sounds.blurred); a word
  of three syllables or more may have one syllable a near miss (a phrase of six, two), and then
  at least half its characters must already be written right and, unless it is a trusted word,
  its first syllable sounds exactly right (上门眼书 → 上门演示, but 张经理 stays 张经理);
- what would be replaced is not itself a word: every two characters it changes are rare in
  jionlp's corpus counts (so 事实 is never "repaired" to 实施, nor 经历 to 经理);
- a word of two syllables is itself common (终验 never replaces 总淹: a rare word is no clearly
  better reading);
- no common word crosses the span's edges (我和同事 keeps 和同: 同事 is a word).
Trusted words (the customer's own names and contacts) of three characters or more that sound
exactly the same skip the rarity test: 王经历 → 王经理 when 王经理 is that customer's contact.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from handlers.extraction.model import CustomerRef
from handlers.extraction.sounds import blurred, is_han, split_syllable, toned
from handlers.extraction.wordfreq import word_count

RARE = 1_000  # a corpus count under this is no word a speaker meant (反亏 549, 包价 641)
COMMON = 3_000  # a word crossing a span's edge at least this common blocks the repair
_EXACT, _NEAR = 1.0, 0.75


@dataclass(frozen=True, slots=True)
class Fix:
    start: int
    end: int
    heard: str
    word: str


@dataclass(frozen=True, slots=True)
class Repaired:
    text: str  # the transcript with the fixes applied
    raw: str  # as recognised
    fixes: tuple[Fix, ...]

    @property
    def changed(self) -> bool:
        return bool(self.fixes)


@dataclass(frozen=True, slots=True)
class _Entry:
    word: str
    readings: tuple[tuple[str, ...], ...]  # blurred syllables: the word's own reading, per char
    trusted: bool


def _char_key(ch: str) -> str:
    return blurred(toned(ch)) if is_han(ch) else ""


@functools.lru_cache(maxsize=4096)
def _entry(word: str, trusted: bool) -> _Entry:
    from pypinyin import Style, lazy_pinyin

    as_phrase = tuple(blurred(s) for s in lazy_pinyin(word, style=Style.NORMAL))
    per_char = tuple(_char_key(ch) for ch in word)
    readings = (as_phrase,) if as_phrase == per_char else (as_phrase, per_char)
    return _Entry(word, tuple(r for r in readings if len(r) == len(word)), trusted)


@functools.lru_cache(maxsize=64)
def _entries(words: tuple[str, ...], trusted: tuple[str, ...]) -> tuple[_Entry, ...]:
    chosen = dict.fromkeys(words, False) | dict.fromkeys(trusted, True)
    return tuple(
        _entry(w, t) for w, t in chosen.items() if 2 <= len(w) <= 12 and all(map(is_han, w))
    )


def _syllable_score(heard: str, wanted: str) -> float:
    if heard == wanted:
        return _EXACT
    initial_h, final_h = split_syllable(heard)
    initial_w, final_w = split_syllable(wanted)
    if final_h == final_w and initial_h != initial_w:
        return _NEAR  # 工作系 / 工作日
    if initial_h == initial_w and initial_h and Levenshtein.distance(final_h, final_w) <= 1:
        return _NEAR  # 眼书 / 演示, 国签 / 国庆
    return 0.0


def _near_misses_allowed(size: int) -> int:
    return 0 if size <= 2 else 1 if size < 6 else 2


def _is_rare_change(window: str, word: str) -> bool:
    changed = [i for i, (a, b) in enumerate(zip(window, word, strict=True)) if a != b]
    pairs = {window[max(0, i - 1) : i + 1] for i in changed} | {window[i : i + 2] for i in changed}
    span = window[changed[0] : changed[-1] + 1]
    if 2 <= len(span) <= 6:
        pairs.add(span)
    return all(word_count(p) < RARE for p in pairs if len(p) >= 2)


def _crosses_a_word(text: str, start: int, end: int, word: str) -> bool:
    """A common word across an edge (我和同事: 同事) wins over the repair, unless the word's own
    two characters at that edge are written right and more common (10点上门眼书: 点上 < 上门), or
    the outside characters are a more common word of their own (提交投镖: 交投 < 提交)."""
    for edge in (start, end):
        inner = text[start : start + 2] if edge == start else text[end - 2 : end]
        own = word[:2] if edge == start else word[-2:]
        if edge == start:
            outside = max(word_count(text[max(0, edge - n) : edge]) for n in (2, 3))
        else:
            outside = max(word_count(text[edge : edge + n]) for n in (2, 3))
        for left, right in ((1, 1), (1, 2), (2, 1)):
            if edge - left < 0 or edge + right > len(text):
                continue
            if (right if edge == start else left) > end - start:
                continue
            count = word_count(text[edge - left : edge + right])
            if count < COMMON or outside >= count:
                continue
            if not (inner == own and word_count(own) >= count):
                return True
    return False


def _score(
    text: str, keys: Sequence[str], start: int, entry: _Entry, reading: Sequence[str]
) -> float | None:
    size = len(entry.word)
    window = text[start : start + size]
    if window == entry.word or not all(map(is_han, window)):
        return None
    heard = keys[start : start + size]
    marks = [_syllable_score(h, w) for h, w in zip(heard, reading, strict=True)]
    if min(marks) == 0.0:
        return None
    near = marks.count(_NEAR)
    if near > _near_misses_allowed(size) or (near and marks[0] != _EXACT and not entry.trusted):
        return None  # 张经理 is not 总经理: a word is heard by its start
    if size == 2 and not entry.trusted and word_count(entry.word) < COMMON:
        return None  # a rare word (终验) is no clearly better reading of two syllables
    same_chars = sum(a == b for a, b in zip(window, entry.word, strict=True))
    if near and same_chars * 2 < size:
        return None
    if not (entry.trusted and size >= 3 and not near) and not _is_rare_change(window, entry.word):
        return None
    if _crosses_a_word(text, start, start + size, entry.word):
        return None
    return sum(marks) / size


def _candidates(text: str, entries: Iterable[_Entry]) -> list[tuple[int, float, int, _Entry]]:
    keys = [_char_key(ch) for ch in text]
    where: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key:
            where.setdefault(key, []).append(i)
    found = []
    for entry in entries:
        size = len(entry.word)
        for reading in entry.readings:
            starts = {i - k for k, key in enumerate(reading) for i in where.get(key, ())}
            for start in sorted(s for s in starts if 0 <= s <= len(text) - size):
                score = _score(text, keys, start, entry, reading)
                if score is not None:
                    found.append((size, score, start, entry))
    return found


def customer_words(
    customers: Iterable[CustomerRef], contacts: Iterable[str] = ()
) -> tuple[str, ...]:
    """The trusted words of a sender: customer names and aliases, then known contacts."""
    words = [w for c in customers for w in (c.name, *c.aliases)] + list(contacts)
    return tuple(dict.fromkeys(w.strip() for w in words if w.strip()))


def repair_transcript(text: str, words: Sequence[str], *, trusted: Sequence[str] = ()) -> Repaired:
    """`text` with the spans that sound like one of `words` (or `trusted`) replaced by it."""
    found = _candidates(text, _entries(tuple(words), tuple(trusted)))
    found.sort(key=lambda c: (-c[0], -c[1], c[2]))  # longer words first: more context heard
    taken: list[Fix] = []
    for size, _, start, entry in found:
        end = start + size
        if all(end <= f.start or start >= f.end for f in taken):
            taken.append(Fix(start, end, text[start:end], entry.word))
    taken.sort(key=lambda f: f.start)
    pieces, cursor = [], 0
    for fix in taken:
        pieces += [text[cursor : fix.start], fix.word]
        cursor = fix.end
    return Repaired("".join(pieces) + text[cursor:], text, tuple(taken))
