"""The default engine in its worker process: names via the prompt, noise, bad audio, runaways."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.asr.audio import to_wav_bytes
from bot.asr.decoding import EngineSpec
from bot.asr.errors import AudioError, ModelError
from bot.asr.local import LocalTranscriber
from bot.asr.model_files import ensure_bundled_model
from bot.asr.pool import Job, TranscriptionPool
from bot.asr.prompt import to_simplified
from tests.asr.conftest import TEST_MAX_AUDIO_S, noise_wav, voice_clip

pytestmark = pytest.mark.slow  # a worker process loads the model


def all_names(voice_dev: dict[str, Any]) -> list[str]:
    return [name for c in voice_dev["customers"] for name in (c["name"], *c["aliases"])]


async def test_mandarin_note_names_the_customer_when_names_are_in_the_prompt(
    faster_whisper: LocalTranscriber, voice_dev: dict[str, Any]
) -> None:
    # v04 (宏达建材王经理嫌价格高…): without the prompt base hears 红搭建财; every customer of
    # the dev set is in the prompt, as a rep's whole book would be.
    stages = ["初步接洽", "需求确认", "方案", "报价", "谈判", "签约"]
    transcript = await faster_whisper.transcribe(
        voice_clip("v04.amr"), fmt="amr", prompt_words=[*all_names(voice_dev), *stages]
    )
    assert "宏达" in transcript.text
    assert transcript.text == to_simplified(transcript.text)
    assert (transcript.engine, transcript.language, transcript.no_speech) == (
        "faster-whisper",
        "zh",
        False,
    )
    assert transcript.duration_s == pytest.approx(5.08, abs=0.1)
    assert set(transcript.timings) == {"decode_s", "transcribe_s"}


async def test_a_thirty_second_noise_clip_is_rejected_faster_than_real_time(
    faster_whisper: LocalTranscriber,
) -> None:
    started = time.monotonic()
    transcript = await faster_whisper.transcribe(noise_wav(30), fmt="wav", prompt_words=[])
    elapsed_s = time.monotonic() - started
    assert transcript.no_speech
    assert transcript.text == ""
    assert elapsed_s < transcript.duration_s


async def test_loud_hum_with_clicks_is_rejected_faster_than_real_time(
    faster_whisper: LocalTranscriber,
) -> None:
    t = np.arange(20 * 16_000) / 16_000
    hum = 0.3 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t)
    hum[:: 16_000 // 3] = 0.9  # clicks three times a second
    started = time.monotonic()
    transcript = await faster_whisper.transcribe(
        to_wav_bytes(hum.astype(np.float32)), fmt="wav", prompt_words=["启明"]
    )
    assert time.monotonic() - started < transcript.duration_s
    assert len(transcript.text) < 20  # no hallucination loop


async def test_corrupt_audio_is_an_audio_error_and_the_worker_keeps_serving(
    faster_whisper: LocalTranscriber,
) -> None:
    with pytest.raises(AudioError) as caught:
        await faster_whisper.transcribe(b"#!AMR\n" + b"\xff" * 500, fmt="amr", prompt_words=[])
    assert caught.value.reason in {"corrupt", "empty"}
    transcript = await faster_whisper.transcribe(voice_clip("v08.amr"), fmt="amr", prompt_words=[])
    assert transcript.text


async def test_empty_audio_is_an_audio_error(faster_whisper: LocalTranscriber) -> None:
    with pytest.raises(AudioError, match="empty"):
        await faster_whisper.transcribe(b"", fmt="amr", prompt_words=[])


async def test_audio_over_the_limit_is_refused(faster_whisper: LocalTranscriber) -> None:
    silence = to_wav_bytes(np.zeros(int((TEST_MAX_AUDIO_S + 5) * 16_000), dtype=np.float32))
    with pytest.raises(AudioError) as caught:
        await faster_whisper.transcribe(silence, fmt="wav", prompt_words=[])
    assert caught.value.reason == "too_long"


async def test_a_runaway_job_is_abandoned_and_a_fresh_worker_takes_over(
    asr_cache_dir: Path,
) -> None:
    spec = EngineSpec("faster-whisper", str(ensure_bundled_model(asr_cache_dir)), cpu_threads=1)
    pool = TranscriptionPool(spec, workers=1, job_timeout_s=0.05)
    first_pid = (await pool.start())[0]
    job = Job(voice_clip("v01.amr"), "amr", (), "zh", 60.0, "faster-whisper", "base")
    try:
        with pytest.raises(AudioError) as caught:
            await pool.run(job)
        assert caught.value.reason == "timeout"
        pool.job_timeout_s = 60.0
        result = await pool.run(job)
    finally:
        await pool.close()
    assert result.pid != first_pid
    assert "主任" in result.transcript.text


async def test_a_broken_model_fails_at_start_up_not_at_the_first_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model.bin").write_bytes(b"\x06\x00\x00\x00 definitely not a model")
    transcriber = LocalTranscriber(
        "faster-whisper", model=str(broken), language="zh", max_audio_s=60, cache_dir=tmp_path
    )
    with pytest.raises(ModelError, match="cannot load ASR model"):
        await transcriber.start()
    await transcriber.close()


async def test_an_english_note_under_the_chinese_default_is_transcribed_as_english(
    faster_whisper: LocalTranscriber, speak_english: Callable[[str], bytes]
) -> None:
    # Forced to zh with this prompt, base writes 鸡鸡鸡鸡鸡 for it (with the dev set's names, v15
    # comes out as garbled English); either answer makes the worker decode again, detecting.
    clip = speak_english(
        "Met Acme Medical's procurement lead. She wants the revised quote by next Tuesday."
    )
    transcript = await faster_whisper.transcribe(
        clip, fmt="wav", prompt_words=["Acme Medical", "Acme", "宏达建材"]
    )
    assert transcript.language == "en"
    assert "acme medical" in transcript.text.casefold()
    assert "tuesday" in transcript.text.casefold()


async def test_a_mandarin_note_keeps_the_chinese_decoding(
    faster_whisper: LocalTranscriber, voice_dev: dict[str, Any]
) -> None:
    transcript = await faster_whisper.transcribe(
        voice_clip("v02.amr"), fmt="amr", prompt_words=all_names(voice_dev)
    )
    assert transcript.language == "zh"
    assert "华东医疗" in transcript.text
