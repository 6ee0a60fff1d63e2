"""How Chinese characters sound (pypinyin, cached per char), for matching what speech recognition
wrote with characters that sound right but are wrong (宏达 → 红搭, 前 → 钱)."""

from __future__ import annotations

import functools


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@functools.lru_cache(maxsize=8192)
def toned(ch: str) -> str:
    """'hong2' for 宏; any other character stands for itself."""
    if not is_han(ch):
        return ch.casefold()
    from pypinyin import Style, pinyin  # 0.4 s to import: on first use

    return str(pinyin(ch, style=Style.TONE3, heteronym=False)[0][0])


def loosen(syllable: str) -> str:
    """A toneless syllable with the confusions of southern accents and ASR merged
    (zh/z, ch/c, sh/s, n/l, -ng/-n: an/ang, en/eng, in/ing)."""
    for retroflex, flat in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(retroflex):
            syllable = flat + syllable[2:]
    if syllable.startswith("n"):
        syllable = "l" + syllable[1:]
    if syllable.endswith("ng") and syllable != "ng":
        syllable = syllable[:-1]
    return syllable


@functools.lru_cache(maxsize=8192)
def loose(ch: str) -> str:
    """The toneless syllable with the confusions merged (see loosen), so 致连 and 智联 read
    the same; any other character stands for itself."""
    syllable = toned(ch).rstrip("12345")
    return loosen(syllable) if is_han(ch) else syllable


_F_AS_HU = {"huu": "hu", "huei": "hui", "huen": "hun", "huou": "hou"}


@functools.lru_cache(maxsize=8192)
def blurred(syllable: str) -> str:
    """loosen, and h/f merged too (发 fa / 花 hua, 飞 fei / 灰 hui, 分 fen / 昏 hun): f becomes
    hu. For repairing whole transcripts (handlers/extraction/repair.py)."""
    syllable = loosen(syllable.rstrip("12345"))
    if syllable.startswith("f"):
        syllable = "hu" + syllable[1:]
        for spelled, merged in _F_AS_HU.items():
            if syllable.startswith(spelled):
                syllable = merged + syllable[len(spelled) :]
    return syllable


_INITIALS = ("b", "p", "m", "f", "d", "t", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s")


def split_syllable(syllable: str) -> tuple[str, str]:
    """(initial, final): ('h', 'ong') for hong; no initial for an, ou, yi-less finals."""
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > 1:
            return initial, syllable[1:]
    return "", syllable


@functools.lru_cache(maxsize=65536)
def likeness(a: str, b: str) -> float:
    """How alike two loose syllables sound: 1 the same, 0.75 the same rhyme after another
    initial (瑞 rui / 最 zui, a common mishearing), else 0 (再 zai / 智 zi is no near miss)."""
    if a == b:
        return 1.0
    initial_a, final_a = split_syllable(a)
    initial_b, final_b = split_syllable(b)
    return 0.75 if final_a == final_b and initial_a != initial_b else 0.0


def toned_syllables(text: str) -> tuple[str, ...]:
    return tuple(toned(ch) for ch in text)


def loose_syllables(text: str) -> tuple[str, ...]:
    return tuple(loose(ch) for ch in text)
