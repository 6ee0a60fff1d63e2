"""Voice recordings kept with their follow-ups: store one, read one to play, purge old ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Followup, VoiceRecording


async def keep_recording(
    db: AsyncSession,
    followup: Followup,
    *,
    audio: bytes,
    media_format: str | None,
    playback: bytes | None,
    playback_type: str | None,
    duration_s: float | None,
    now: datetime,
) -> VoiceRecording:
    """The recording of `followup`, in the follow-up's transaction."""
    recording = VoiceRecording(
        followup_id=followup.id,
        customer_id=followup.customer_id,
        author_id=followup.author_id,
        created_at=now,
        media_format=(media_format or None) and media_format[:20],
        size_bytes=len(audio),
        duration_s=duration_s,
        audio=audio,
        playback=playback,
        playback_type=playback_type if playback else None,
    )
    db.add(recording)
    await db.flush()
    return recording


async def recording_of(db: AsyncSession, followup_id: int) -> VoiceRecording | None:
    stmt = select(VoiceRecording).where(VoiceRecording.followup_id == followup_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def drop_recording(db: AsyncSession, followup_id: int) -> None:
    """The recording of a follow-up that is itself being deleted (撤销) goes with it."""
    await db.execute(delete(VoiceRecording).where(VoiceRecording.followup_id == followup_id))


async def purge_before(db: AsyncSession, cutoff: datetime, *, now: datetime) -> int:
    """Empty the audio of every recording made before `cutoff`; returns how many were purged."""
    stmt = (
        update(VoiceRecording)
        .where(VoiceRecording.created_at < cutoff, VoiceRecording.purged_at.is_(None))
        .values(audio=None, playback=None, purged_at=now)
        .execution_options(synchronize_session=False)
    )
    result = await db.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
