"""Pick the ASR engine from settings; `none` answers politely that voice is off."""

from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bot.asr.decoding import GREEDY_OVER_S
from bot.asr.errors import AsrUnavailable
from bot.asr.transcript import Transcriber, Transcript

ENGINES = ("faster-whisper", "openai-whisper", "openai-api", "platform", "none")
DEFAULT_MAX_AUDIO_S = 300.0  # 5 minutes: SALESBOT_ASR_MAX_AUDIO_S or the like overrides it


class DisabledTranscriber:
    """SALESBOT_ASR_ENGINE=none: every voice message gets a polite 'voice is off'."""

    async def start(self) -> None:
        return None

    async def transcribe(
        self,
        audio: bytes,
        *,
        fmt: str | None,
        prompt_words: Sequence[str],
        recognition: str | None = None,
    ) -> Transcript:
        raise AsrUnavailable(
            "speech recognition is off (SALESBOT_ASR_ENGINE=none)",
            problem="语音识别没有开启，请直接发文字消息，谢谢！",
            transient=False,
        )

    async def close(self) -> None:
        return None


def build_transcriber(
    engine: str,
    *,
    model: str,
    language: str,
    max_audio_s: float,
    base_url: str | None,
    api_key: str | None,
    workers: int = 1,
    beam_size: int = 5,
    greedy_over_s: float | None = GREEDY_OVER_S,
    compute_type: str = "int8",
    short_window: bool = True,
    cache_dir: Path | None = None,
    http: aiohttp.ClientSession | None = None,
) -> Transcriber:
    """A Transcriber for SALESBOT_ASR_ENGINE; call start() on it at start-up.

    Engines are imported on demand: `none` needs no voice extra, and no engine imports
    faster-whisper or PyTorch into the app process (only its worker processes load them).
    """
    if engine not in ENGINES:
        raise ValueError(f"SALESBOT_ASR_ENGINE={engine!r}: choose one of {', '.join(ENGINES)}")
    if engine == "none":
        return DisabledTranscriber()
    if engine == "openai-api":
        from bot.asr.openai_api import OpenAIApiTranscriber

        return OpenAIApiTranscriber(
            base_url=base_url,
            api_key=api_key,
            model=model,
            language=language,
            max_audio_s=max_audio_s,
            http=http,
        )
    from bot.asr.local import LocalTranscriber

    local = LocalTranscriber(
        "faster-whisper" if engine == "platform" else engine,  # platform: the local fallback
        model=model,
        language=language,
        max_audio_s=max_audio_s,
        workers=workers,
        beam_size=beam_size,
        greedy_over_s=greedy_over_s,
        compute_type=compute_type,
        short_window=short_window,
        cache_dir=cache_dir,
    )
    if engine == "platform":
        from bot.asr.platform_text import PlatformTranscriber

        return PlatformTranscriber(local)
    return local
