"""Voice jobs: taken one at a time under a lease, so a job of a killed worker is taken again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.queue_models import ItemStatus, VoiceJob
from storage.upsert import dialect_name

LEASE = timedelta(minutes=10)  # longer than the longest transcription (5 min audio, capped)


async def take_job(
    db: AsyncSession, *, now: datetime, worker: str, platforms: list[str], lease: timedelta = LEASE
) -> VoiceJob | None:
    ready = (
        select(VoiceJob.id)
        .where(
            VoiceJob.platform.in_(platforms),
            (VoiceJob.status == ItemStatus.NEW)
            | ((VoiceJob.status == ItemStatus.TAKEN) & (VoiceJob.taken_until < now)),
        )
        .order_by(VoiceJob.id)
        .limit(1)
    )
    if dialect_name(db) == "postgresql":
        ready = ready.with_for_update(skip_locked=True)
    stmt = (
        update(VoiceJob)
        .where(VoiceJob.id.in_(ready.scalar_subquery()))
        .values(
            status=ItemStatus.TAKEN,
            taken_until=now + lease,
            taken_by=worker,
            attempts=VoiceJob.attempts + 1,
        )
        .returning(VoiceJob)
        .execution_options(synchronize_session=False)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


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
