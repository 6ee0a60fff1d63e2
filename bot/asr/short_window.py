"""A shorter encoder window for short notes: Whisper pads every clip to 30 s of features
(3000 frames) and the encoder's cost follows the frames, so a 3 s note paid for 30 s.

CTranslate2's Whisper encoder accepts fewer frames. faster-whisper pads each window with
`pad_or_trim` from its own module; inside a worker process, while `windowed()` is active, that
padding stops at the speech (after VAD) plus TAIL_S, but never under MIN_WINDOW_S: on the voice
dev set a 10 s floor keeps every field (CER 0.192 against 0.182 with 30 s), while a window of
speech + 1 s lost the customer and due date on two clips (docs/BENCHMARKS.md). If faster-whisper
stops padding that way, clips simply keep the 30 s window.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

MIN_WINDOW_S = 10.0
TAIL_S = 2.0
FRAMES_PER_S = 100
FULL_FRAMES = 3000

_active = False
_installed = False


def window_frames(content_frames: int) -> int:
    """Frames the encoder gets for `content_frames` of speech: even, 10 s to 30 s."""
    frames = max(MIN_WINDOW_S * FRAMES_PER_S, content_frames + TAIL_S * FRAMES_PER_S)
    frames = min(FULL_FRAMES, math.ceil(frames))
    return int(frames + frames % 2)


def _shortening(original: Callable[..., Any]) -> Callable[..., Any]:
    def pad_or_trim(array: Any, length: int = FULL_FRAMES, *args: Any, **kwargs: Any) -> Any:
        if _active and length == FULL_FRAMES and array.shape[-1] < FULL_FRAMES:
            length = window_frames(array.shape[-1])
        return original(array, length, *args, **kwargs)

    pad_or_trim.__wrapped__ = original  # type: ignore[attr-defined]
    return pad_or_trim


def install() -> bool:
    """Wrap faster-whisper's padding once per process; False if its module no longer has it."""
    global _installed
    if _installed:
        return True
    from faster_whisper import transcribe

    original = getattr(transcribe, "pad_or_trim", None)
    if original is None:
        return False
    transcribe.pad_or_trim = _shortening(original)
    _installed = True
    return True


@contextlib.contextmanager
def windowed(enabled: bool = True) -> Iterator[None]:
    """Shorter windows for the decoding done inside (one job at a time per worker process)."""
    global _active
    previous, _active = _active, enabled and _installed
    try:
        yield
    finally:
        _active = previous
