"""The Transcript result and the Transcriber protocol every ASR engine fits."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str  # simplified Chinese (other languages as spoken)
    language: str  # what was recognised, e.g. "zh", "en"
    duration_s: float  # length of the audio
    engine: str  # faster-whisper | openai-whisper | openai-api | platform
    model: str  # model name or directory, for the log
    timings: dict[str, float] = field(default_factory=dict)  # decode_s, transcribe_s
    no_speech: bool = False  # nothing recognisable was said (silence, noise)
    refused: str | None = None  # not a note even decoded twice: prompt, loop, caption, rate
    playback: bytes | None = None  # local engines: the audio as Ogg/Opus, for keeping


class Transcriber(Protocol):
    async def start(self) -> None:
        """Load and verify the model: call at start-up so a broken model fails early."""

    async def transcribe(
        self,
        audio: bytes,
        *,
        fmt: str | None,
        prompt_words: Sequence[str],
        recognition: str | None = None,
    ) -> Transcript:
        """Speech to text. Raises AudioError (tell the sender) or AsrUnavailable."""

    async def close(self) -> None:
        """Stop worker processes and release the model."""
