"""A noisy twin of a voice set: the same clips mixed with generated road-like noise at a given
SNR, seeded, so a run is repeatable (bench/voice.py reports it; tests/voice use it).

The noise is what a phone hears in a moving car: brown-ish rumble (tyres and road), an engine
hum with a few harmonics that drifts with the revs, and now and then a passing car swelling
and fading. The SNR is the power of the clip's speech (its frames above a floor, so pauses do
not count) over the power of the noise, in dB.
"""

from __future__ import annotations

import io
import wave

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
Pcm = npt.NDArray[np.float32]


def road_noise(samples: int, *, seed: int, rate: int = SAMPLE_RATE) -> Pcm:
    """`samples` of road-like noise at unit RMS."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / rate
    # Rumble: white noise integrated (brown), with its DC drift removed, plus some pink hiss.
    brown = np.cumsum(rng.standard_normal(samples))
    brown -= np.convolve(brown, np.ones(rate // 10) / (rate // 10), mode="same")
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, 1 / rate)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    pink = np.fft.irfft(spectrum, n=samples)
    # Engine: a fundamental drifting around 40 Hz and three harmonics.
    revs = 40 + 6 * np.sin(2 * np.pi * 0.15 * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(revs) / rate
    engine = sum(np.sin(k * phase) / k for k in range(1, 5))
    # Passing cars: broad swells of filtered noise, one every ~4 s on average.
    swell = np.zeros(samples)
    for _ in range(rng.poisson(max(1.0, samples / rate / 4))):
        centre, width = rng.uniform(0, samples / rate), rng.uniform(0.8, 2.0)
        swell += np.exp(-(((t - centre) / width) ** 2))
    hiss = np.convolve(rng.standard_normal(samples), np.ones(8) / 8, mode="same")
    mix = _unit(brown) * 1.0 + _unit(pink) * 0.5 + _unit(engine) * 0.4 + _unit(hiss) * swell * 0.8
    return _unit(mix).astype(np.float32)


def _unit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    rms = float(np.sqrt(np.mean(np.square(x))))
    return x / rms if rms > 0 else x


def speech_power(clean: Pcm, rate: int = SAMPLE_RATE) -> float:
    """Mean power of the 20 ms frames louder than a floor 30 dB under the loudest."""
    frame = rate // 50
    usable = len(clean) // frame * frame
    if usable == 0:
        return float(np.mean(np.square(clean))) if len(clean) else 0.0
    powers = np.mean(np.square(clean[:usable].reshape(-1, frame)), axis=1)
    loud = powers[powers >= powers.max() * 10 ** (-30 / 10)]
    return float(loud.mean()) if len(loud) else 0.0


def mix_at_snr(clean: Pcm, snr_db: float, *, seed: int) -> Pcm:
    """`clean` plus road noise at `snr_db` (speech power over noise power), clipped to ±1."""
    noise = road_noise(len(clean), seed=seed)
    gain = np.sqrt(speech_power(clean) / 10 ** (snr_db / 10))
    return np.clip(clean + gain * noise, -1.0, 1.0).astype(np.float32)


def measured_snr_db(clean: Pcm, noisy: Pcm) -> float:
    noise = noisy - clean
    return float(10 * np.log10(speech_power(clean) / np.mean(np.square(noise))))


def wav_bytes(pcm: Pcm, rate: int = SAMPLE_RATE) -> bytes:
    samples = (np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def clip_seed(base: int, clip_id: str, snr_db: float) -> int:
    """One seed per clip and SNR, the same in every run."""
    return base * 1_000_003 + sum(ord(c) * 31**i for i, c in enumerate(clip_id)) + int(snr_db * 10)
