"""Audio decoding: every dev clip to 16 kHz mono; empty, corrupt, too long → AudioError."""

import io
import pickle
from typing import Any

import av
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


def encode(pcm: np.ndarray, container: str, codec: str, rate: int) -> bytes:
    """A dev clip re-encoded the way other clients send voice (Ogg/Opus, M4A/AAC, MP3)."""
    out = io.BytesIO()
    with av.open(out, "w", format=container) as sink:
        stream = sink.add_stream(codec, rate=rate, layout="mono")
        samples = (pcm * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize(
    ("container", "codec", "rate", "label"),
    [
        ("ogg", "libopus", 48_000, "ogg"),  # DingTalk and mobile clients' Opus voice
        ("mp4", "aac", 16_000, "m4a"),
        ("mp3", "libmp3lame", 16_000, "mp3"),
    ],
)
def test_other_voice_formats_decode_to_the_same_length(
    container: str, codec: str, rate: int, label: str
) -> None:
    original = decode_to_pcm16k(voice_clip("v02.amr"), max_s=300, fmt="amr")
    data = encode(original, container, codec, rate)
    for fmt in (label, None):  # named by the platform, or not named at all
        pcm = decode_to_pcm16k(data, max_s=300, fmt=fmt)
        assert len(pcm) / SAMPLE_RATE == pytest.approx(5.81, abs=0.15)
        assert 0.01 < float(np.abs(pcm).max()) <= 1.0
