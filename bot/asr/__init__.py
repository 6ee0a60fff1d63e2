"""Speech recognition: voice message bytes → simplified-Chinese text, behind one Transcriber."""

from bot.asr.engines import DEFAULT_MAX_AUDIO_S, ENGINES, build_transcriber
from bot.asr.errors import AsrUnavailable, AudioError, ModelError
from bot.asr.prompt import build_prompt
from bot.asr.transcript import Transcriber, Transcript

__all__ = [
    "DEFAULT_MAX_AUDIO_S",
    "ENGINES",
    "AsrUnavailable",
    "AudioError",
    "ModelError",
    "Transcriber",
    "Transcript",
    "build_prompt",
    "build_transcriber",
]
