"""Voice jobs: taken one at a time under a lease, so a job of a killed worker is taken again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.queue_models import ItemStatus, VoiceJob

LEASE = timedelta(minutes=10)  # longer than the longest transcription (5 min audio, capped)


async def take_job(
    db: AsyncSession, *, now: datetime, worker: str, platforms: list[str], lease: timedelta = LEASE
) -> VoiceJob | None:
    jobs = await leases.take(
        db,
        VoiceJob,
        now=now,
        lease=lease,
        platforms=platforms,
        limit=1,
        order_by=[VoiceJob.id],
        taken_by=worker,
    )
    return jobs[0] if jobs else None


async def finish_job(db: AsyncSession, job_id: int, *, now: datetime, **result: Any) -> None:
    """Done (transcript, duration_s, engine, model, timings; last_error for a rejected clip)."""
    await db.execute(
        update(VoiceJob)
        .where(VoiceJob.id == job_id)
        .values(status=ItemStatus.DONE, finished_at=now, taken_until=None, **result)
    )


async def fail_job(
    db: AsyncSession, job_id: int, *, error: str, dead: bool, retry_at: datetime
) -> None:
    values: dict[str, Any] = {"last_error": error[:2000]}
    if dead:
        values |= {"status": ItemStatus.DEAD, "taken_until": None}
    else:
        values |= {"status": ItemStatus.TAKEN, "taken_until": retry_at}
    await db.execute(update(VoiceJob).where(VoiceJob.id == job_id).values(**values))
