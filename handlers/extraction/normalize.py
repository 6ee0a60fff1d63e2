"""Normalise a note before reading it: traditional → simplified (OpenCC), full-width → ASCII,
colloquial time words spelled out, and time words that speech recognition misheard put back."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from opencc import OpenCC

from handlers.extraction.sounds import is_han, toned_syllables

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
# Full-width punctuation reads better in a Chinese summary: keep it.
for _keep in "，。！？；：（）、":
    _FULL_WIDTH.pop(ord(_keep), None)

_SPELLED_OUT = {"明早": "明天早上", "明晚": "明天晚上", "今早": "今天早上", "礼拜天": "星期日"}
_SPELLED_OUT_RE = re.compile("|".join(_SPELLED_OUT))
_DIGIT_COLON_RE = re.compile(r"(?<=\d)[：:](?=\d\d)")
_SPACES_RE = re.compile(r"\s+")

# Time words a transcript may spell with homophones (上午 → 上五, 月底 → 越底). Matching is by
# toned syllables, so 商务 (shang1 wu4) is never read as 上午 (shang4 wu3). 节前 is left out on
# purpose: 结钱 (to settle a bill) sounds the same.
TIME_WORDS = (
    "上午", "下午", "中午", "早上", "晚上", "今晚", "今天", "明天", "后天", "大后天",
    "月底", "月初", "月末", "月中", "年底", "年初", "下周", "本周", "这周", "周末",
    "周一", "周二", "周三", "周四", "周五", "周六", "周日", "星期", "礼拜", "以前", "之前",
    "以内", "之内", "以后", "之后", "工作日", "国庆", "元旦", "春节", "节后", "下班", "下个月",
)  # fmt: skip
_TIME_WORD_LENGTHS = sorted({len(word) for word in TIME_WORDS}, reverse=True)
# 前 misheard as 钱 (周五钱): only right after something that ends a time expression.
_BEFORE_SOUND = "qian2"
_ENDS_TIME = set("号日天周末底点半午晚一二三四五六七八九十0123456789")

_FILLER_RE = re.compile(
    r"(?:(?<=^)|(?<=[，。,.！？!?\s]))(?:嗯+|呃+|额+|啊+|哦+|那个|就是说|然后呢|对对对?)(?:[，,。\s]+|$)"
)


@functools.cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def normalise_note(text: str, *, protect: Sequence[str] = ()) -> str:
    """The text every span points into. `protect`: names (customers) never rewritten by sound."""
    text = _t2s().convert(text).translate(_FULL_WIDTH)
    text = _DIGIT_COLON_RE.sub(":", text)
    text = _SPACES_RE.sub(" ", text).strip()
    text = _SPELLED_OUT_RE.sub(lambda m: _SPELLED_OUT[m.group()], text)
    return fix_misheard_time_words(text, protect=protect)


def _protected_mask(text: str, protect: Sequence[str]) -> list[bool]:
    mask = [False] * len(text)
    for name in protect:
        if not name:
            continue
        start = text.find(name)
        while start >= 0:
            for i in range(start, start + len(name)):
                mask[i] = True
            start = text.find(name, start + 1)
    return mask


@functools.cache
def _time_words_by_sound() -> dict[tuple[str, ...], str]:
    return {toned_syllables(word): word for word in TIME_WORDS}


def fix_misheard_time_words(text: str, *, protect: Sequence[str] = ()) -> str:
    by_sound = _time_words_by_sound()
    sounds = toned_syllables(text)
    mask = _protected_mask(text, protect)
    chars = list(text)
    i = 0
    while i < len(chars):
        replaced = False
        for size in _TIME_WORD_LENGTHS:
            window = sounds[i : i + size]
            word = by_sound.get(window) if len(window) == size else None
            if word is None or any(mask[i : i + size]):
                continue
            if not all(is_han(ch) for ch in chars[i : i + size]):
                continue
            chars[i : i + size] = list(word)
            i += size
            replaced = True
            break
        if replaced:
            continue
        if sounds[i] == _BEFORE_SOUND and not mask[i] and i > 0 and chars[i - 1] in _ENDS_TIME:
            chars[i] = "前"
        i += 1
    return "".join(chars)


def strip_fillers(text: str) -> str:
    """The note as a summary: spoken fillers (嗯、那个、就是说) and trailing stops removed."""
    previous = None
    while previous != text:
        previous, text = text, _FILLER_RE.sub("", text)
    return text.strip().rstrip("。.，, ")
