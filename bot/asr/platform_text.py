"""The platform engine: use the recognition text the platform sent, else a local engine."""

import asyncio
import re
import time
from collections.abc import Sequence

from bot.asr.audio import probe_duration_s
from bot.asr.prompt import to_simplified
from bot.asr.transcript import Transcriber, Transcript

_CJK = re.compile(r"[\u4e00-\u9fff]")


async def from_recognition(recognition: str) -> Transcript:
    """A transcript of the platform's own text, for voice that arrives without its audio
    (the WeCom 智能机器人's long connection sends only the recognised text)."""
    started = time.monotonic()
    text = await asyncio.to_thread(to_simplified, recognition.strip())
    return Transcript(
        text=text,
        language="zh" if _CJK.search(text) else "",
        duration_s=0.0,
        engine="platform",
        model="platform",
        timings={"decode_s": 0.0, "transcribe_s": time.monotonic() - started},
        no_speech=False,
    )


class PlatformTranscriber:
    def __init__(self, fallback: Transcriber) -> None:
        self.fallback = fallback

    async def start(self) -> None:
        await self.fallback.start()  # voice without a recognition text still needs the model

    async def transcribe(
        self,
        audio: bytes,
        *,
        fmt: str | None,
        prompt_words: Sequence[str],
        recognition: str | None = None,
    ) -> Transcript:
        if not (recognition or "").strip():
            return await self.fallback.transcribe(audio, fmt=fmt, prompt_words=prompt_words)
        started = time.monotonic()
        text = await asyncio.to_thread(to_simplified, recognition or "")
        seconds = await asyncio.to_thread(probe_duration_s, audio, fmt)
        return Transcript(
            text=text,
            language="zh" if _CJK.search(text) else "",
            duration_s=round(seconds, 3),
            engine="platform",
            model="platform",
            timings={"decode_s": 0.0, "transcribe_s": time.monotonic() - started},
            no_speech=False,
        )

    async def close(self) -> None:
        await self.fallback.close()
