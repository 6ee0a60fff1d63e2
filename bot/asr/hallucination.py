"""Transcripts that are no note: Whisper printing its prompt back, looping on one token or digit
group, its stock captions for music and silence, or more words than the audio could hold."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.asr.prompt import prompt_sentence_pieces

# Mandarin is spoken at ~4-7 syllables a second, English at ~2-4 words: a transcript with more
# units (CJK characters + Latin words + digit groups) per second of audio than this was invented.
MAX_UNITS_PER_S = 10.0
MIN_UNITS_FOR_RATE = 8  # two or three words on a short clip are never judged by their rate
# What is left of a transcript once the prompt's words are taken out: under this share, with
# three of them found (or two in a list, 、), or with four characters of the prompt's own
# sentence in it, the transcript is the prompt again.
MIN_OWN_SHARE = 0.2
# Whisper's stock texts for music, noise and silence (it learnt them from subtitled videos).
STOCK_CAPTIONS = (
    "明镜与点点",
    "点赞订阅",
    "订阅转发",
    "打赏支持",
    "字幕由",
    "字幕志愿者",
    "amara",
    "谢谢观看",
    "感谢观看",
    "谢谢收看",
    "thanks for watching",
    "thank you for watching",
    "subscribe",
)
_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)
_UNITS = re.compile(r"[\u4e00-\u9fff]|[A-Za-z]+|\d+")
_REPEATED = re.compile(r"^(.{1,4}?)\1{3,}.{0,4}$", re.DOTALL)
_DIGIT_GROUP = re.compile(r"\d+")


def _plain(text: str) -> str:
    return _NOT_TEXT.sub("", text).casefold()


def echoes_prompt(text: str, prompt: str, prompt_words: Sequence[str]) -> bool:
    """Mostly the prompt again: its lead sentence, or its words with little of its own around."""
    plain = _plain(text)
    if not plain or not prompt:
        return False
    if any(piece in plain for piece in prompt_sentence_pieces(prompt)):
        return True
    words = {_plain(w) for w in prompt_words if w in prompt}
    rest, found = plain, 0
    for word in sorted((w for w in words if len(w) >= 2), key=len, reverse=True):
        if word in rest:
            found += 1
            rest = rest.replace(word, "")
    listed = found >= 3 or (found >= 2 and "、" in text)
    return listed and len(rest) < MIN_OWN_SHARE * len(plain)


def is_a_loop(text: str) -> bool:
    """One token or digit group over and over (鸡鸡鸡鸡, 1111 1111 1111, 好的好的好的好的)."""
    plain = _plain(text)
    if len(plain) >= 4 and _REPEATED.match(plain):
        return True
    groups = _DIGIT_GROUP.findall(text)
    digits = sum(len(g) for g in groups)
    if len(groups) >= 3 and digits >= 0.6 * len(plain):
        return True  # digit groups and little else
    pieces = [p for p in re.split(r"[\s,，、.。!！?？;；]+", text.casefold()) if p]
    return len(pieces) >= 4 and len(set(pieces)) == 1


def is_stock_caption(text: str) -> bool:
    plain = _plain(text)
    return any(_plain(caption) in plain for caption in STOCK_CAPTIONS)


def too_many_words(text: str, duration_s: float) -> bool:
    units = len(_UNITS.findall(text))
    return units >= MIN_UNITS_FOR_RATE and units > MAX_UNITS_PER_S * max(duration_s, 0.1)


def why_not_a_note(
    text: str, *, prompt: str, prompt_words: Sequence[str], duration_s: float
) -> str | None:
    """The reason a transcript is not a note ("prompt", "loop", "caption", "rate"), or None."""
    if not text.strip():
        return None
    if echoes_prompt(text, prompt, prompt_words):
        return "prompt"
    if is_a_loop(text):
        return "loop"
    if is_stock_caption(text):
        return "caption"
    if too_many_words(text, duration_s):
        return "rate"
    return None
