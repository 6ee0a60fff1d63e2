"""No hallucinated notes: what is not a note is told apart, and clips made of silence, noise, a
cough or music come out of the real model as nothing to log."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from bot.asr.audio import to_wav_bytes
from bot.asr.hallucination import why_not_a_note
from bot.asr.local import LocalTranscriber
from bot.asr.prompt import build_prompt

RATE = 16_000
NAMES = ["杭州启明科技有限公司", "启明", "佛山宏达建材", "宏达建材", "宏达"]
STAGES = ["线索", "意向", "方案", "谈判", "成交", "丢单"]
WORDS = NAMES + STAGES
PROMPT = build_prompt(WORDS, ())


def reason(text: str, duration_s: float = 5.0) -> str | None:
    return why_not_a_note(text, prompt=PROMPT, prompt_words=WORDS, duration_s=duration_s)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("进语音：杭州启明科技有限公司、启明、佛山宏达建材", "prompt"),  # seen in the field
        ("销售跟进语音，提到的客户有", "prompt"),
        ("启明、宏达建材、宏达、线索、成交", "prompt"),
        ("鸡鸡鸡鸡鸡鸡鸡鸡", "loop"),
        ("好的好的好的好的好的", "loop"),
        ("Acme Medical 2024 2024 2024 2024 2024", "loop"),  # the English clip's digit groups
        ("1 2 3 4 5 6 7 8", "loop"),
        ("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", "caption"),
        ("字幕由Amara.org社区提供", "caption"),
        ("宏达建材下周三前要一版新报价，还要合同草案和付款方式说明", "rate"),  # in one second
    ],
)
def test_what_is_not_a_note_is_told_apart(text: str, why: str) -> None:
    assert reason(text, duration_s=1.0 if why == "rate" else 5.0) == why


@pytest.mark.parametrize(
    "text",
    [
        "宏达回款八万已经到账。",
        "启明科技张总说预算批了，明天下午三点电话确认采购数量。",
        "宏达建材成交了",  # a name and a stage, said
        "启明和宏达都约了下周二上午十点",  # two names and what happens
        "Met Acme Medical's procurement lead, she wants the revised quote by next Tuesday.",
        "订单 2026 0315 已经发货",
        "",
    ],
)
def test_real_notes_are_notes(text: str) -> None:
    assert reason(text) is None


# --- clips made for it, through the real model --------------------------------------------------


def pcm_to_wav(pcm: npt.NDArray[np.float64]) -> bytes:
    return to_wav_bytes(pcm.astype(np.float32))


def silence(seconds: float = 4.0) -> bytes:
    return pcm_to_wav(np.zeros(int(seconds * RATE)))


def pink_noise(seconds: float = 5.0, seed: int = 3) -> bytes:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    pcm = np.fft.irfft(spectrum, n=n)
    return pcm_to_wav(0.2 * pcm / np.abs(pcm).max())


def cough(seed: int = 5) -> bytes:
    """Two coughs: bursts of band-passed noise with a sharp attack and a fast decay."""
    rng = np.random.default_rng(seed)
    pcm = np.zeros(3 * RATE)
    for start_s in (0.5, 1.4):
        n = int(0.35 * RATE)
        burst = np.convolve(rng.standard_normal(n), np.hanning(24), mode="same")
        envelope = np.exp(-np.arange(n) / (0.08 * RATE)) * (1 - np.exp(-np.arange(n) / 80))
        start = int(start_s * RATE)
        pcm[start : start + n] += burst * envelope
    return pcm_to_wav(0.5 * pcm / np.abs(pcm).max())


def music(seconds: float = 6.0) -> bytes:
    """A melody over chords: sine tones with harmonics, notes of 0.25 s with a soft attack."""
    t = np.arange(int(seconds * RATE)) / RATE
    melody = [261.6, 329.6, 392.0, 523.3, 392.0, 329.6, 293.7, 349.2]
    pcm = np.zeros_like(t)
    note_s = 0.25
    for i, f in enumerate(melody * int(seconds / (note_s * len(melody)) + 1)):
        start, end = int(i * note_s * RATE), int((i + 1) * note_s * RATE)
        if start >= len(t):
            break
        seg = t[start:end] - t[start]
        env = np.minimum(1, seg / 0.02) * np.exp(-seg * 4)
        pcm[start:end] += env * sum(np.sin(2 * np.pi * f * k * seg) / k for k in (1, 2, 3))
    chord = sum(np.sin(2 * np.pi * f * t) for f in (130.8, 164.8, 196.0)) * 0.3
    pcm += chord
    return pcm_to_wav(0.4 * pcm / np.abs(pcm).max())


@pytest.mark.slow
@pytest.mark.parametrize(
    "clip", [silence, pink_noise, cough, music], ids=["silence", "noise", "cough", "music"]
)
async def test_clips_without_speech_give_nothing_to_log(
    faster_whisper: LocalTranscriber, clip: object
) -> None:
    make = clip
    assert callable(make)
    transcript = await faster_whisper.transcribe(make(), fmt="wav", prompt_words=WORDS)
    assert transcript.text == "", (transcript.text, transcript.refused)
    assert transcript.no_speech
