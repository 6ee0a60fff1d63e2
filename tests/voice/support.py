"""Voice test helpers: the rep, dev-set items and clips, AMR encoding, what reached WeCom."""

from __future__ import annotations

import io
from typing import Any

import av
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Followup
from storage.queue_models import VoiceJob
from tests.asr.conftest import voice_clip

REP = "wanglei"  # the rep's WeCom UserID

__all__ = ["REP", "dev_item", "followups", "to_amr", "voice_clip", "voice_jobs"]


def dev_item(voice_dev: dict[str, Any], item_id: str) -> dict[str, Any]:
    (item,) = [item for item in voice_dev["items"] if item["id"] == item_id]
    return item


def to_amr(wav: bytes) -> bytes:
    """WAV → AMR-NB, 8 kHz mono, 12.2 kbit/s: what WeCom's media/get serves for a voice message."""
    out = io.BytesIO()
    with av.open(io.BytesIO(wav)) as source, av.open(out, mode="w", format="amr") as target:
        stream = target.add_stream("libopencore_amrnb", rate=8000, layout="mono")
        stream.bit_rate = 12_200
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000, frame_size=160)
        frames = [f for frame in source.decode(audio=0) for f in resampler.resample(frame)]
        frames += resampler.resample(None)
        for packet in [p for frame in frames for p in stream.encode(frame)] + stream.encode(None):
            target.mux(packet)
    return out.getvalue()


async def followups(sessions: async_sessionmaker[AsyncSession]) -> list[Followup]:
    async with sessions() as db:
        return list((await db.execute(select(Followup).order_by(Followup.id))).scalars())


async def voice_jobs(sessions: async_sessionmaker[AsyncSession]) -> list[VoiceJob]:
    async with sessions() as db:
        return list((await db.execute(select(VoiceJob).order_by(VoiceJob.id))).scalars())
