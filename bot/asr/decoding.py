"""What a local engine is asked to do: its settings and the limits against hallucination loops."""

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

# Whisper loops on noise: these stop a window early (no_speech, compression, logprob), keep
# temperature fallbacks few, and cap tokens per 30 s window (Whisper's own default is 224).
TEMPERATURES = (0.0, 0.4, 0.8)
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
MAX_NEW_TOKENS = 200  # + a prompt of at most 200 tokens stays inside the 448-token context
VAD_MIN_SILENCE_MS = 500
# A clip that fits one 30 s window needs no timestamp tokens: on this 2-core machine that cut a
# 30 s note from 7.8 s to 2.1 s, same CER on the dev clips. Longer clips keep timestamps, which
# let Whisper seek across windows without cutting words (60 s English: WER 0.135 vs 0.271).
SINGLE_WINDOW_S = 30.0
# Beam search costs ~1.5× greedy per token. Up to this much audio the beam still answers within
# ~2.4 s here (Mandarin, base int8, 2 cores); longer notes are decoded greedily so that a 30 s
# note takes ~2.4 s instead of ~3.6 s (docs/BENCHMARKS.md). The dev clips (2-8 s) keep the beam.
GREEDY_OVER_S = 15.0


def fits_one_window(samples: int, sample_rate: int = 16_000) -> bool:
    return samples <= SINGLE_WINDOW_S * sample_rate


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """Everything a worker process needs to load one engine (pickled into the initializer)."""

    engine: str  # faster-whisper | openai-whisper
    model: str  # resolved: a directory, a checkpoint file, or a size name
    compute_type: str = "int8"  # faster-whisper: int8 | float32 | int8_float32 ...
    beam_size: int = 5  # 1 = greedy
    greedy_over_s: float | None = GREEDY_OVER_S  # longer audio is decoded greedily; None: never
    cpu_threads: int = 0  # 0: the library's default
    download_root: str | None = None
    cache_dir: str | None = None  # where the bundled model is assembled / converted
    short_windows: bool = True  # faster-whisper: encode short notes in a 10 s window, not 30 s


def beam_for(spec: EngineSpec, samples: int, sample_rate: int = 16_000) -> int:
    """The beam size for a clip of `samples`: the spec's, or 1 past `greedy_over_s`."""
    if spec.greedy_over_s is not None and samples > spec.greedy_over_s * sample_rate:
        return 1
    return spec.beam_size


@dataclass(frozen=True, slots=True)
class Recognized:
    text: str  # as the model wrote it (may be traditional)
    language: str
    no_speech: bool
    truncated: bool = False  # the per-clip decode-time cap stopped it early


class Engine(Protocol):
    def recognize(
        self,
        pcm: npt.NDArray[np.float32],
        *,
        language: str | None,
        prompt: str,
        deadline_s: float,
    ) -> Recognized:
        """Transcribe 16 kHz mono audio; stop at time.monotonic() >= deadline_s."""


def load_engine(spec: EngineSpec) -> Engine:
    if spec.engine == "faster-whisper":
        from bot.asr.faster_engine import FasterWhisperEngine

        return FasterWhisperEngine(spec)
    if spec.engine == "openai-whisper":
        from bot.asr.openai_engine import OpenAIWhisperEngine

        return OpenAIWhisperEngine(spec)
    raise ValueError(f"not a local engine: {spec.engine}")
