"""The faster-whisper engine (CTranslate2, int8 on CPU): the default, run inside a worker."""

import time

import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel

from bot.asr import short_window
from bot.asr.decoding import (
    COMPRESSION_RATIO_THRESHOLD,
    LOG_PROB_THRESHOLD,
    MAX_NEW_TOKENS,
    NO_SPEECH_THRESHOLD,
    TEMPERATURES,
    VAD_MIN_SILENCE_MS,
    EngineSpec,
    Recognized,
    beam_for,
    fits_one_window,
)


class FasterWhisperEngine:
    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.model = WhisperModel(
            spec.model,
            device="cpu",
            compute_type=spec.compute_type,
            cpu_threads=spec.cpu_threads,
            download_root=spec.download_root,
        )
        self.short_windows = spec.short_windows and short_window.install()

    def recognize(
        self,
        pcm: npt.NDArray[np.float32],
        *,
        language: str | None,
        prompt: str,
        deadline_s: float,
    ) -> Recognized:
        with short_window.windowed(self.short_windows):
            return self._recognize(pcm, language=language, prompt=prompt, deadline_s=deadline_s)

    def _recognize(
        self,
        pcm: npt.NDArray[np.float32],
        *,
        language: str | None,
        prompt: str,
        deadline_s: float,
    ) -> Recognized:
        segments, info = self.model.transcribe(
            pcm,
            language=language,
            beam_size=beam_for(self.spec, len(pcm)),
            temperature=list(TEMPERATURES),
            compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
            log_prob_threshold=LOG_PROB_THRESHOLD,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            condition_on_previous_text=False,  # one bad window must not seed the next
            initial_prompt=prompt or None,
            max_new_tokens=MAX_NEW_TOKENS,
            without_timestamps=fits_one_window(len(pcm)),
            vad_filter=True,  # noise and silence never reach the decoder
            vad_parameters={"min_silence_duration_ms": VAD_MIN_SILENCE_MS},
        )
        texts: list[str] = []
        truncated = False
        for segment in segments:  # a lazy generator: each step decodes one more window
            texts.append(segment.text)
            if time.monotonic() >= deadline_s:
                truncated = True
                break
        text = "".join(texts).strip()
        return Recognized(text, info.language, no_speech=not text, truncated=truncated)
