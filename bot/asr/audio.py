"""Audio decoding with PyAV (FFmpeg inside the wheel): any voice format → 16 kHz mono float32."""

import io
import wave

import av
import numpy as np
import numpy.typing as npt

from bot.asr.errors import AudioError

SAMPLE_RATE = 16_000
MIN_SPEECH_S = 0.1
# Format labels → FFmpeg demuxers, for streams FFmpeg cannot sniff on its own.
_DEMUXERS = {
    "amr": "amr",
    "mp3": "mp3",
    "wav": "wav",
    "ogg": "ogg",
    "opus": "ogg",
    "m4a": "mp4",
    "aac": "aac",
    "flac": "flac",
    "webm": "webm",
    "mp4": "mp4",
}


def _too_long(max_s: float) -> AudioError:
    minutes = max_s / 60
    limit = f"{minutes:g} 分钟" if minutes >= 1 else f"{max_s:g} 秒"
    return AudioError(f"语音太长了，最长 {limit}，请分段发送", "too_long", f"over {max_s:g} s")


def _open(audio: bytes, fmt: str | None) -> av.container.InputContainer:
    """Let FFmpeg sniff the bytes first (#!AMR, RIFF, OggS…): platform labels are not reliable."""
    try:
        return av.open(io.BytesIO(audio), mode="r")
    except av.error.FFmpegError:
        demuxer = _DEMUXERS.get((fmt or "").lower().lstrip("."))
        if demuxer is None:
            raise
        return av.open(io.BytesIO(audio), mode="r", format=demuxer)  # headerless streams


def decode_to_pcm16k(
    audio: bytes, *, max_s: float, fmt: str | None = None
) -> npt.NDArray[np.float32]:
    """Decode and resample to 16 kHz mono; empty, corrupt or over-long audio is an AudioError."""
    if not audio:
        raise AudioError("收到的语音是空的，请重新录一条", "empty", "0 bytes")
    max_samples = int(max_s * SAMPLE_RATE)
    chunks: list[npt.NDArray[np.float32]] = []
    total = 0
    try:
        with _open(audio, fmt) as container:
            if not container.streams.audio:
                raise AudioError("这条消息里没有声音，请重新录一条", "corrupt", "no audio stream")
            if container.duration is not None and container.duration / av.time_base > max_s + 1:
                raise _too_long(max_s)  # the header says so: refuse before decoding
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
                    total += out.samples
                if total > max_samples:
                    raise _too_long(max_s)
            for out in resampler.resample(None):
                chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
                total += out.samples
    except av.error.FFmpegError as err:
        raise AudioError("这条语音无法解码，可能已损坏，请重新发送", "corrupt", str(err)) from err
    if total > max_samples:
        raise _too_long(max_s)
    if total < MIN_SPEECH_S * SAMPLE_RATE:
        raise AudioError("收到的语音是空的，请重新录一条", "empty", f"{total} samples")
    return np.concatenate(chunks).astype(np.float32, copy=False)


def duration_s(pcm: npt.NDArray[np.float32]) -> float:
    return len(pcm) / SAMPLE_RATE


def to_wav_bytes(pcm: npt.NDArray[np.float32]) -> bytes:
    """16-bit PCM WAV at 16 kHz: what every transcription endpoint accepts."""
    samples = (np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def probe_duration_s(audio: bytes, fmt: str | None = None) -> float:
    """The length the container declares, without decoding; 0.0 when it cannot tell."""
    try:
        with _open(audio, fmt) as container:
            return 0.0 if container.duration is None else container.duration / av.time_base
    except av.error.FFmpegError:
        return 0.0
