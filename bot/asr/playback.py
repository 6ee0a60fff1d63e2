"""Voice notes made playable in a browser: whatever the platform sent (AMR, SILK-free formats
FFmpeg reads, MP3, M4A …) transcoded once with PyAV to Ogg/Opus, mono, 16 kbit/s."""

from __future__ import annotations

import io

import av
import numpy as np
import numpy.typing as npt

from bot.asr.audio import SAMPLE_RATE, decode_to_pcm16k

PLAYBACK_TYPE = "audio/ogg"  # Ogg/Opus: Chrome, Firefox, Edge, Safari 17+
BIT_RATE = 16_000
FRAME = 320  # 20 ms at 16 kHz, what libopus takes


def to_playback(audio: bytes, *, fmt: str | None, max_s: float) -> bytes:
    """Ogg/Opus bytes of the audio; an AudioError if it cannot be decoded."""
    return pcm_to_playback(decode_to_pcm16k(audio, max_s=max_s, fmt=fmt))


def pcm_to_playback(pcm: npt.NDArray[np.float32]) -> bytes:
    """Ogg/Opus bytes of 16 kHz mono audio (the ASR worker makes them from what it decoded)."""
    padded = np.pad(pcm, (0, -len(pcm) % FRAME)).astype(np.float32)
    out = io.BytesIO()
    with av.open(out, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = BIT_RATE
        for i in range(0, len(padded), FRAME):
            frame = av.AudioFrame.from_ndarray(
                padded[i : i + FRAME].reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = SAMPLE_RATE
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()
