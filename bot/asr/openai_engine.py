"""The openai-whisper engine (PyTorch): the alternative, run inside a worker."""

from pathlib import Path

import numpy as np
import numpy.typing as npt

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
from bot.asr.model_files import BUNDLED_NAMES, default_cache_dir


def keep_speech(pcm: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Only the voiced parts (Silero VAD, shipped with faster-whisper), as the default engine."""
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:  # without the voice extra: Whisper's own no-speech check only
        return pcm
    options = VadOptions(min_silence_duration_ms=VAD_MIN_SILENCE_MS)
    spans = get_speech_timestamps(pcm, options)
    if not spans:
        return pcm[:0]
    return np.concatenate([pcm[span["start"] : span["end"]] for span in spans])


class OpenAIWhisperEngine:
    def __init__(self, spec: EngineSpec) -> None:
        try:
            import torch
            import whisper
        except ImportError as err:
            raise RuntimeError(
                "the openai-whisper engine needs the extra: pip install 'salesbot[openai-whisper]'"
            ) from err
        if spec.cpu_threads:
            torch.set_num_threads(spec.cpu_threads)
        self.spec = spec
        model = spec.model
        if model.strip().lower() in BUNDLED_NAMES:  # converted here: torch stays out of the app
            from bot.asr.ct2_to_openai import ensure_openai_checkpoint

            model = str(ensure_openai_checkpoint(Path(spec.cache_dir or default_cache_dir())))
        self.model = whisper.load_model(model, device="cpu", download_root=spec.download_root)

    def recognize(
        self,
        pcm: npt.NDArray[np.float32],
        *,
        language: str | None,
        prompt: str,
        deadline_s: float,  # openai-whisper cannot stop mid-clip: the pool's wall clock does
    ) -> Recognized:
        speech = keep_speech(pcm)
        if len(speech) == 0:
            return Recognized("", language or "", no_speech=True)
        beam = beam_for(self.spec, len(pcm))
        result = self.model.transcribe(
            speech,
            language=language,
            task="transcribe",
            beam_size=beam if beam > 1 else None,
            best_of=beam if beam > 1 else None,
            temperature=TEMPERATURES,
            compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
            logprob_threshold=LOG_PROB_THRESHOLD,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            sample_len=MAX_NEW_TOKENS,
            without_timestamps=fits_one_window(len(pcm)),  # as the default engine decides
            fp16=False,
            verbose=None,
        )
        text = str(result["text"]).strip()
        return Recognized(text, str(result.get("language") or language or ""), no_speech=not text)
