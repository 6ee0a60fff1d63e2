"""Worker processes for local engines: spawn, load the model once per process, cap each job."""

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import av

from bot.asr.audio import decode_to_pcm16k, duration_s
from bot.asr.decoding import Engine, EngineSpec, Recognized, load_engine
from bot.asr.errors import AsrUnavailable, AudioError, ModelError
from bot.asr.hallucination import why_not_a_note
from bot.asr.playback import pcm_to_playback
from bot.asr.prompt import build_prompt, to_simplified
from bot.asr.transcript import Transcript

# Inside a faster-whisper job: stop decoding past real time + this (checked between windows).
DECODE_SLACK_S = 10.0
# An answer with this many Latin letters to a request for a CJK language is decoded again with
# language detection (a name like "Acme" or "CRM" in a Mandarin note is left alone).
MIN_LATIN_LETTERS = 12
NON_LATIN_LANGUAGES = frozenset({"zh", "yue", "ja", "ko"})
# Transcription yields the CPU to the bot's own process: chat replies stay fast under voice load.
WORKER_NICENESS = 10

_engine: Engine | None = None  # one per worker process, set by the initializer
_load_error: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    audio: bytes
    fmt: str | None
    prompt_words: Sequence[str]
    language: str | None  # None: detect
    max_audio_s: float
    engine: str
    model_label: str


@dataclass(frozen=True, slots=True)
class JobResult:
    transcript: Transcript
    truncated: bool  # the decode-time cap cut it short
    pid: int


def _init_worker(spec: EngineSpec) -> None:
    """Process initializer: never raises (that would only say 'broken pool'); jobs report it."""
    global _engine, _load_error
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    try:
        _engine = load_engine(spec)
    except Exception as err:  # reported, with its text, by every job
        _load_error = f"cannot load ASR model {spec.model!r} ({spec.engine}): {err}"


def check_loaded() -> int:
    if _engine is None:
        raise ModelError(_load_error or "the ASR worker has no model")
    return os.getpid()


def run_job(job: Job) -> JobResult:
    """Decode, transcribe, simplify: all the CPU work of one voice message."""
    check_loaded()
    assert _engine is not None  # noqa: S101 - narrowed by check_loaded
    started = time.monotonic()
    pcm = decode_to_pcm16k(job.audio, max_s=job.max_audio_s, fmt=job.fmt)
    decoded = time.monotonic()
    seconds = duration_s(pcm)
    prompt = build_prompt(job.prompt_words, ())
    deadline_s = decoded + seconds + DECODE_SLACK_S
    recognized = _engine.recognize(pcm, language=job.language, prompt=prompt, deadline_s=deadline_s)
    if job.language in NON_LATIN_LANGUAGES and _spoken_in_another_language(recognized):
        # A note in another language, forced to Chinese, comes out garbled: let Whisper detect.
        recognized = _engine.recognize(pcm, language=None, prompt=prompt, deadline_s=deadline_s)
    refused = why_not_a_note(
        recognized.text, prompt=prompt, prompt_words=job.prompt_words, duration_s=seconds
    )
    if refused is not None:
        # The prompt printed back, a loop, a caption: once more, unprompted, language detected.
        recognized = _engine.recognize(pcm, language=None, prompt="", deadline_s=deadline_s)
        refused = why_not_a_note(
            recognized.text, prompt=prompt, prompt_words=job.prompt_words, duration_s=seconds
        )
    text = "" if refused is not None else to_simplified(recognized.text)
    playback = None
    if text:  # the browser copy of a note that will be kept: made here, at nice 10, once
        try:
            playback = pcm_to_playback(pcm)
        except (av.error.FFmpegError, ValueError):
            playback = None
    transcript = Transcript(
        text=text,
        language=recognized.language,
        duration_s=round(seconds, 3),
        engine=job.engine,
        model=job.model_label,
        timings={"decode_s": decoded - started, "transcribe_s": time.monotonic() - decoded},
        no_speech=recognized.no_speech or not text,
        refused=refused,
        playback=playback,
    )
    return JobResult(transcript, recognized.truncated, os.getpid())


def _spoken_in_another_language(recognized: Recognized) -> bool:
    """Asked for Chinese, got words in Latin letters, or one or two characters over and over.

    Forced to Chinese, base writes an English note as garbled English, as the prompt's English
    names over and over, or as 鸡鸡鸡鸡鸡. A Mandarin note naming an English company ("Acme") has
    fewer letters than this; one with more only costs a second decode that again says zh.
    """
    if recognized.no_speech or recognized.truncated:
        return False
    letters = [ch for ch in recognized.text if ch.isalpha()]
    latin = sum(1 for ch in letters if ch.isascii())
    if latin >= MIN_LATIN_LETTERS:
        return True
    return len(letters) >= 4 and len(set(letters)) * 3 <= len(letters)


class TranscriptionPool:
    """A spawn ProcessPoolExecutor; a job over its wall-clock cap is abandoned with its process."""

    def __init__(self, spec: EngineSpec, *, workers: int, job_timeout_s: float) -> None:
        self.spec, self.workers, self.job_timeout_s = spec, max(1, workers), job_timeout_s
        self._executor: ProcessPoolExecutor | None = None
        self._slots = asyncio.Semaphore(self.workers)  # the cap's clock starts when a job runs

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.spec,),
        )

    async def start(self) -> list[int]:
        """Start every worker and wait until each has loaded the model; a load error raises."""
        self._executor = self._new_executor()
        loop = asyncio.get_running_loop()
        calls = [loop.run_in_executor(self._executor, check_loaded) for _ in range(self.workers)]
        try:
            return list(await asyncio.gather(*calls))
        except BrokenProcessPool as err:
            raise ModelError(f"ASR worker process died while loading the model: {err}") from err

    async def run(self, job: Job) -> JobResult:
        async with self._slots:
            executor = self._executor
            if executor is None:
                raise AsrUnavailable("the ASR pool is not started: call start() first")
            future = asyncio.get_running_loop().run_in_executor(executor, run_job, job)
            try:
                return await asyncio.wait_for(future, self.job_timeout_s)
            except TimeoutError as err:
                self._recycle(executor)
                raise AudioError(
                    "这条语音识别超时了，请重发或改用文字",
                    "timeout",
                    f"abandoned after {self.job_timeout_s:g} s",
                ) from err
            except BrokenProcessPool as err:
                self._recycle(executor)
                raise AsrUnavailable(f"ASR worker process died: {err}") from err

    def _recycle(self, executor: ProcessPoolExecutor) -> None:
        """Kill a stuck pool's processes and put a fresh pool in its place (it loads lazily)."""
        if self._executor is executor:
            self._executor = self._new_executor()
        # ProcessPoolExecutor cannot cancel a running call: ending its process is the only way.
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
