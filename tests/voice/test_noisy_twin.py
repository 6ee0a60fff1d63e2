"""The noisy twin of the voice dev set (bench/noise.py): seeded, at the SNR asked, road-like."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.asr.audio import decode_to_pcm16k
from tests.asr.conftest import VOICE_DIR

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import noise


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return decode_to_pcm16k((VOICE_DIR / "v02.amr").read_bytes(), max_s=60, fmt="amr")


def test_the_same_seed_gives_the_same_noise_and_another_seed_other_noise() -> None:
    a = noise.road_noise(16_000, seed=1)
    assert np.array_equal(a, noise.road_noise(16_000, seed=1))
    assert not np.allclose(a, noise.road_noise(16_000, seed=2))
    assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("snr_db", [10.0, 5.0])
def test_a_clip_is_mixed_at_the_snr_asked(clean: np.ndarray, snr_db: float) -> None:
    noisy = noise.mix_at_snr(clean, snr_db, seed=noise.clip_seed(20, "v02", snr_db))
    assert noisy.shape == clean.shape
    assert noise.measured_snr_db(clean, noisy) == pytest.approx(snr_db, abs=0.5)


def test_road_noise_is_mostly_low_frequency_rumble() -> None:
    n = noise.road_noise(5 * 16_000, seed=4).astype(np.float64)
    power = np.abs(np.fft.rfft(n)) ** 2
    freqs = np.fft.rfftfreq(len(n), 1 / 16_000)
    assert power[freqs < 500].sum() > 0.6 * power.sum()
    assert power[freqs > 2000].sum() > 0.001 * power.sum()  # and some hiss: not a pure tone


def test_every_dev_clip_has_its_own_noise_and_the_twin_is_repeatable(
    voice_dev: dict[str, Any],
) -> None:
    seeds = {noise.clip_seed(20, it["id"], 10.0) for it in voice_dev["items"]}
    assert len(seeds) == len(voice_dev["items"])
    assert noise.clip_seed(20, "v01", 10.0) != noise.clip_seed(20, "v01", 5.0)
    wav = noise.wav_bytes(noise.mix_at_snr(np.zeros(8000, np.float32) + 0.1, 10, seed=9))
    assert decode_to_pcm16k(wav, max_s=5, fmt="wav").shape == (8000,)
