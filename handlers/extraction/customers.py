"""Which of the sender's customers a note is about: by name, alias or short form, and failing
that by sound (pinyin, for misheard transcripts), with a confidence and candidates to ask about."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from handlers.extraction.model import CustomerRef, Found
from handlers.extraction.places import is_place, strip_place
from handlers.extraction.sounds import is_han, likeness, loose_syllables

ASK_BELOW = 0.85  # a match under this is shown with a question and candidates
_MIN_SOUND_SCORE = 0.85  # how alike two pinyin strings must be to count at all
_DERIVED_CONFIDENCE = 0.9  # short forms we derived ourselves (宏达 from 佛山宏达建材)
_LEGAL_SUFFIX_RE = re.compile(r"(?:股份有限公司|有限责任公司|集团有限公司|有限公司|集团|公司)$")
_TRADES = (
    "医疗器械", "科技", "药业", "建材", "教育", "配件", "医疗", "器械", "电子", "软件", "信息",
    "网络", "贸易", "实业", "制药", "生物", "化工", "机械", "物流", "能源", "材料", "技术",
    "咨询", "传媒", "文化", "食品", "汽车", "置业", "地产", "智能", "电气", "设备",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CustomerLink:
    best: Found[CustomerRef] | None
    candidates: tuple[CustomerRef, ...]  # filled when the best match is doubtful


@dataclass(frozen=True, slots=True)
class _Form:
    text: str  # casefolded
    customer: CustomerRef
    confidence: float
    sounds: str  # loose pinyin, syllables joined by spaces; "" for non-Han forms
    word_re: re.Pattern[str] | None  # Latin names must stand as words: Acme is not in Acmex


def _derived_forms(name: str) -> list[str]:
    base = _LEGAL_SUFFIX_RE.sub("", name)
    forms = [base, strip_place(base)]
    for trade in _TRADES:
        short = forms[-1].removesuffix(trade)
        if short != forms[-1] and len(short) >= 2 and not is_place(short):
            forms.append(short)  # 宏达 from 宏达建材, but never 上海 from 上海电气
            break
    first_word = name.split()[0] if " " in name else ""
    if not is_han(name[:1]) and len(first_word) >= 4 and first_word.casefold() != "the":
        forms.append(first_word)  # Acme from Acme Medical
    return list(dict.fromkeys(form for form in forms if len(form) >= 2 and form != name))


@functools.lru_cache(maxsize=64)
def _forms(customers: tuple[CustomerRef, ...]) -> tuple[_Form, ...]:
    forms: dict[tuple[str, int], _Form] = {}
    for customer in customers:
        given = [(customer.name, 1.0)] + [(alias, 1.0) for alias in customer.aliases]
        derived = [(form, _DERIVED_CONFIDENCE) for form in _derived_forms(customer.name)]
        for text, confidence in given + derived:
            key = (text.casefold(), customer.id)
            if text and key not in forms:
                folded = text.casefold()
                is_chinese = all(map(is_han, text))
                sounds = " ".join(loose_syllables(text)) if is_chinese else ""
                word_re = (
                    None if is_chinese else re.compile(rf"(?<![a-z]){re.escape(folded)}(?![a-z])")
                )
                forms[key] = _Form(folded, customer, confidence, sounds, word_re)
    return tuple(forms.values())


def _exact(text: str, forms: Sequence[_Form]) -> list[tuple[int, int, _Form]]:
    lowered = text.casefold()
    found = []
    for form in forms:
        if form.word_re is not None:
            match = form.word_re.search(lowered)
            if match:
                found.append((match.start(), match.end(), form))
            continue
        start = lowered.find(form.text)
        if start >= 0:
            found.append((start, start + len(form.text), form))
    return found


def _by_sound(text: str, forms: Sequence[_Form]) -> list[tuple[int, int, _Form, float]]:
    sounds = loose_syllables(text)
    where: dict[str, list[int]] = {}
    for i, (ch, syllable) in enumerate(zip(text, sounds, strict=True)):
        if is_han(ch):
            where.setdefault(syllable, []).append(i)
    windows: dict[int, tuple[list[str], list[int]]] = {}
    found = []
    for form in forms:
        size = len(form.text)
        if not form.sounds or size < 2:
            continue
        if size <= 3:
            found += _short_by_sound(text, sounds, where, form)
            continue
        for width in {size - 1, size, size + 1} if size >= 4 else {size}:
            if width not in windows:
                starts = [
                    i for i in range(len(text) - width + 1) if all(map(is_han, text[i : i + width]))
                ]
                windows[width] = ([" ".join(sounds[i : i + width]) for i in starts], starts)
            choices, starts = windows[width]
            best = process.extractOne(form.sounds, choices, scorer=fuzz.ratio) if choices else None
            if best is None or best[1] < _MIN_SOUND_SCORE * 100:
                continue
            start = starts[best[2]]
            written = fuzz.ratio(form.text, text[start : start + width]) / 100
            score = 0.9 * best[1] / 100 + 0.1 * written
            found.append((start, start + width, form, score))
    return found


def _short_by_sound(
    text: str, sounds: Sequence[str], where: dict[str, list[int]], form: _Form
) -> list[tuple[int, int, _Form, float]]:
    """Two or three characters leave no room for fuzzy strings: compare syllable by syllable,
    allowing one near miss at most (so one syllable at least sounds the same: start there)."""
    wanted = form.sounds.split(" ")
    starts = {i - k for k, syllable in enumerate(wanted) for i in where.get(syllable, ())}
    best: tuple[int, int, _Form, float] | None = None
    for start in sorted(s for s in starts if 0 <= s <= len(text) - len(wanted)):
        scores = [likeness(a, b) for a, b in zip(wanted, sounds[start:], strict=False)]
        if min(scores) == 0 or scores.count(1.0) < len(scores) - 1:
            continue
        if not all(map(is_han, text[start : start + len(wanted)])):
            continue
        written = fuzz.ratio(form.text, text[start : start + len(wanted)]) / 100
        score = 0.9 * sum(scores) / len(scores) + 0.1 * written
        if best is None or score > best[3]:
            best = (start, start + len(wanted), form, score)
    return [best] if best else []


def _by_spelling(text: str, forms: Sequence[_Form]) -> list[tuple[int, int, _Form, float]]:
    """Latin names typed or heard slightly wrong (Acmy for Acme)."""
    found = []
    for form in forms:
        if form.sounds or len(form.text) < 4:
            continue
        aligned = fuzz.partial_ratio_alignment(form.text, text.casefold())
        if aligned is not None and aligned.score >= _MIN_SOUND_SCORE * 100:
            found.append((aligned.dest_start, aligned.dest_end, form, aligned.score / 100 * 0.9))
    return found


def _part_of_a_name(text: str, forms: Sequence[_Form]) -> list[tuple[int, int, _Form, float]]:
    """A short typed value that is part of one name (改 客户 宏达建 → 佛山宏达建材)."""
    lowered = text.casefold().strip()
    if not 2 <= len(lowered) <= 12:
        return []
    return [(0, len(text), form, 0.9) for form in forms if lowered in form.text]


def find_customer(text: str, customers: Sequence[CustomerRef]) -> CustomerLink:
    forms = _forms(tuple(customers))
    exact = _exact(text, forms)
    scored = [(start, end, form, form.confidence) for start, end, form in exact]
    if not scored:
        scored = _part_of_a_name(text, forms)
    if not scored:
        scored = _by_sound(text, forms) + _by_spelling(text, forms)
    if not scored:
        return CustomerLink(None, ())
    if exact:  # the earliest mention wins, then the longest
        scored.sort(key=lambda s: (s[0], -(s[1] - s[0]), -s[3]))
    else:
        scored.sort(key=lambda s: (-s[3], s[0]))
    start, end, form, confidence = scored[0]
    per_customer: dict[int, float] = {}
    for _, _, other, score in scored:
        per_customer[other.customer.id] = max(per_customer.get(other.customer.id, 0.0), score)
    if exact:  # one alias shared by two customers
        is_ambiguous = any(
            (s[0], s[1]) == (start, end) and s[2].customer.id != form.customer.id for s in scored
        )
    else:
        is_ambiguous = any(
            cid != form.customer.id and score >= confidence - 0.05
            for cid, score in per_customer.items()
        )
    if is_ambiguous:
        confidence = min(confidence, 0.5)
    candidates: tuple[CustomerRef, ...] = ()
    if confidence < ASK_BELOW:
        by_id = {c.id: c for c in customers}
        ranked = sorted(per_customer.items(), key=lambda item: -item[1])[:3]
        candidates = tuple(by_id[cid] for cid, _ in ranked)
    return CustomerLink(Found(form.customer, (start, end), round(confidence, 2)), candidates)


def link_customer(name_or_text: str, customers: Sequence[CustomerRef]) -> Found[CustomerRef] | None:
    """The customer a name (or a whole note) points to; see find_customer for the candidates."""
    return find_customer(name_or_text, customers).best
