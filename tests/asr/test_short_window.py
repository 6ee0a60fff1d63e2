"""Short notes get a short encoder window (bot/asr/short_window.py), with the same words."""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import numpy as np
import pytest

from bot.asr import short_window
from bot.asr.audio import decode_to_pcm16k
from bot.asr.decoding import EngineSpec, load_engine
from bot.asr.model_files import ensure_bundled_model
from bot.asr.prompt import build_prompt, to_simplified
from tests.asr.conftest import voice_clip


def test_the_window_is_the_speech_plus_two_seconds_between_ten_and_thirty() -> None:
    assert short_window.window_frames(300) == 1000  # 3 s of speech: the 10 s floor
    assert short_window.window_frames(1201) == 1402  # 12 s: + 2 s, even
    assert short_window.window_frames(2900) == 3000  # never past Whisper's 30 s
    assert short_window.window_frames(3000) == 3000


def test_faster_whisper_pads_through_the_function_we_shorten() -> None:
    from faster_whisper import transcribe

    assert "pad_or_trim(segment)" in inspect.getsource(transcribe.WhisperModel.generate_segments)
    assert short_window.install()
    features = np.zeros((80, 420), dtype=np.float32)
    assert transcribe.pad_or_trim(features).shape == (80, 3000)  # outside: untouched
    with short_window.windowed():
        assert transcribe.pad_or_trim(features).shape == (80, 1000)
        assert transcribe.pad_or_trim(features, 1500).shape == (80, 1500)  # asked for: kept
    with short_window.windowed(False):
        assert transcribe.pad_or_trim(features).shape == (80, 3000)


@pytest.mark.slow
def test_a_short_note_reads_the_same_in_a_short_window_for_less_cpu(asr_cache_dir: Path) -> None:
    model = str(ensure_bundled_model(asr_cache_dir))
    pcm = decode_to_pcm16k(voice_clip("v07.amr"), max_s=60, fmt="amr")  # 5.7 s, 签了合同
    prompt = build_prompt(["北京云图教育", "云图教育", "云图"], ())
    texts, cpu = {}, {}
    for short in (True, False):
        engine = load_engine(
            EngineSpec("faster-whisper", model, short_windows=short, cpu_threads=2)
        )
        engine.recognize(pcm, language="zh", prompt=prompt, deadline_s=time.monotonic() + 60)
        began = time.process_time()
        result = engine.recognize(pcm, language="zh", prompt=prompt, deadline_s=1e12)
        cpu[short] = time.process_time() - began
        texts[short] = to_simplified(result.text)
    assert "云图教育" in texts[True], texts
    assert "合同" in texts[True], texts
    assert cpu[True] < 0.8 * cpu[False], cpu
