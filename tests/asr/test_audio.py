"""Audio decoding: every dev clip to 16 kHz mono; empty, corrupt, too long → AudioError."""

import pickle
from typing import Any

import numpy as np
import pytest

from bot.asr.audio import SAMPLE_RATE, decode_to_pcm16k, probe_duration_s, to_wav_bytes
from bot.asr.errors import AudioError
from tests.asr.conftest import voice_clip

DEV_FILES = [f"v{number:02d}.amr" for number in range(1, 17)]


@pytest.mark.parametrize("name", DEV_FILES)
def test_every_dev_clip_decodes_to_16k_mono_of_its_stated_length(
    name: str, voice_dev: dict[str, Any]
) -> None:
    stated = next(item["duration_s"] for item in voice_dev["items"] if item["file"] == name)
    pcm = decode_to_pcm16k(voice_clip(name), max_s=300, fmt="amr")
    assert pcm.dtype == np.float32
    assert pcm.ndim == 1
    assert len(pcm) / SAMPLE_RATE == pytest.approx(stated, abs=0.1)
    assert 0.01 < float(np.abs(pcm).max()) <= 1.0


def test_a_wrong_format_label_still_decodes_by_probing() -> None:
    pcm = decode_to_pcm16k(voice_clip("v03.amr"), max_s=300, fmt="mp3")
    assert len(pcm) / SAMPLE_RATE == pytest.approx(3.19, abs=0.1)


def test_empty_audio_is_an_audio_error() -> None:
    with pytest.raises(AudioError) as caught:
        decode_to_pcm16k(b"", max_s=300)
    assert caught.value.reason == "empty"
    assert "空" in caught.value.problem


def test_an_amr_header_with_no_frames_is_empty() -> None:
    with pytest.raises(AudioError) as caught:
        decode_to_pcm16k(b"#!AMR\n", max_s=300, fmt="amr")
    assert caught.value.reason in {"empty", "corrupt"}


def test_random_bytes_are_a_corrupt_audio_error() -> None:
    noise = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    with pytest.raises(AudioError) as caught:
        decode_to_pcm16k(noise, max_s=300, fmt="amr")
    assert caught.value.reason == "corrupt"
    assert "损坏" in caught.value.problem


def test_audio_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(AudioError) as caught:
        decode_to_pcm16k(voice_clip("v01.amr"), max_s=5, fmt="amr")
    assert caught.value.reason == "too_long"
    assert "5 秒" in caught.value.problem


def test_the_default_five_minute_limit_is_named_in_minutes() -> None:
    six_minutes = to_wav_bytes(np.zeros(6 * 60 * SAMPLE_RATE, dtype=np.float32))
    with pytest.raises(AudioError, match="5 分钟"):
        decode_to_pcm16k(six_minutes, max_s=300, fmt="wav")


def test_the_declared_length_is_read_without_decoding() -> None:
    assert probe_duration_s(voice_clip("v02.amr"), "amr") == pytest.approx(5.81, abs=0.3)
    assert probe_duration_s(b"not audio", "amr") == 0.0


def test_audio_errors_survive_the_trip_back_from_a_worker_process() -> None:
    error = AudioError("语音太长了", "too_long", "over 300 s")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.problem, copy.reason, copy.detail) == ("语音太长了", "too_long", "over 300 s")
