"""Local transcription (faster-whisper or openai-whisper) in worker processes, off the loop."""

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

import structlog

from bot.asr.decoding import GREEDY_OVER_S, EngineSpec
from bot.asr.errors import AsrUnavailable, ModelError
from bot.asr.model_files import (
    BUNDLED_NAMES,
    default_cache_dir,
    ensure_bundled_model,
    resolve_model,
)
from bot.asr.pool import Job, TranscriptionPool
from bot.asr.transcript import Transcript

log = structlog.get_logger(__name__)

LOCAL_ENGINES = ("faster-whisper", "openai-whisper")
# openai-whisper's own names; whisper.load_model downloads them (deployments that can).
OPENAI_SIZES = frozenset(
    {
        *("tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en"),
        *("large-v1", "large-v2", "large-v3", "large", "large-v3-turbo", "turbo"),
    }
)
# The last-resort wall clock for one job: worker (re)load, decoding, and up to this × the limit.
JOB_TIMEOUT_BASE_S = 30.0
JOB_TIMEOUT_PER_AUDIO_S = 1.5


def resolve_local_model(engine: str, model_setting: str, cache_dir: Path) -> str:
    """Check the setting and prepare files the app process can: the engine's loader gets this.

    faster-whisper: the bundled dir (assembled and verified once), a directory, or a size.
    openai-whisper: "base" stays "base" (the worker converts the bundled model, so PyTorch is
    never imported by the app process), a checkpoint file, or one of whisper's size names.
    """
    if engine == "faster-whisper":
        return resolve_model(model_setting, cache_dir)
    setting = model_setting.strip()
    if setting.lower() in BUNDLED_NAMES:
        ensure_bundled_model(cache_dir)  # the conversion's source, verified
        return "base"
    if Path(setting).expanduser().is_file():
        return str(Path(setting).expanduser())
    if setting in OPENAI_SIZES:
        return setting
    raise ModelError(
        f"SALESBOT_ASR_MODEL={setting!r}: not an openai-whisper checkpoint file or size name"
    )


def model_label(model_setting: str) -> str:
    setting = model_setting.strip()
    return "base (bundled)" if setting.lower() in BUNDLED_NAMES else setting


class LocalTranscriber:
    def __init__(
        self,
        engine: str,
        *,
        model: str,
        language: str,
        max_audio_s: float,
        workers: int = 1,
        compute_type: str = "int8",
        beam_size: int = 5,
        greedy_over_s: float | None = GREEDY_OVER_S,
        short_window: bool = True,
        cache_dir: Path | None = None,
        job_timeout_s: float | None = None,
    ) -> None:
        if engine not in LOCAL_ENGINES:
            raise ValueError(f"not a local engine: {engine}")
        self.engine, self.model_setting, self.max_audio_s = engine, model, max_audio_s
        self.language = None if language.strip().lower() in ("", "auto") else language.strip()
        self.workers, self.compute_type, self.beam_size = max(1, workers), compute_type, beam_size
        self.greedy_over_s, self.short_window = greedy_over_s, short_window
        self.cache_dir = cache_dir or default_cache_dir()
        self.job_timeout_s = job_timeout_s or (
            JOB_TIMEOUT_BASE_S + JOB_TIMEOUT_PER_AUDIO_S * max_audio_s
        )
        self._pool: TranscriptionPool | None = None

    async def start(self) -> None:
        if self._pool is not None:
            return
        resolved = await asyncio.to_thread(
            resolve_local_model, self.engine, self.model_setting, self.cache_dir
        )
        spec = EngineSpec(
            engine=self.engine,
            model=resolved,
            compute_type=self.compute_type,
            beam_size=self.beam_size,
            greedy_over_s=self.greedy_over_s,
            short_windows=self.short_window,
            cpu_threads=max(1, (os.cpu_count() or 1) // self.workers),
            download_root=str(self.cache_dir / "downloads"),
            cache_dir=str(self.cache_dir),
        )
        pool = TranscriptionPool(spec, workers=self.workers, job_timeout_s=self.job_timeout_s)
        try:
            pids = await pool.start()
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        log.info("asr_started", engine=self.engine, model=resolved, workers=pids)

    async def transcribe(
        self,
        audio: bytes,
        *,
        fmt: str | None,
        prompt_words: Sequence[str],
        recognition: str | None = None,
    ) -> Transcript:
        if self._pool is None:
            raise AsrUnavailable(f"{self.engine} transcriber is not started: call start() first")
        job = Job(
            audio=audio,
            fmt=fmt,
            prompt_words=tuple(prompt_words),
            language=self.language,
            max_audio_s=self.max_audio_s,
            engine=self.engine,
            model_label=model_label(self.model_setting),
        )
        result = await self._pool.run(job)
        if result.truncated:
            log.warning(
                "asr_decode_capped",
                engine=self.engine,
                pid=result.pid,
                duration_s=result.transcript.duration_s,
            )
        return result.transcript

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
