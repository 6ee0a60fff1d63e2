"""Inbox: raw platform events stored before the ack, taken by workers under a lease."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.queue_models import InboxItem, ItemStatus
from storage.upsert import dialect_name, insert_for, rowcount

LEASE = timedelta(minutes=2)


async def store_event(
    sessions: async_sessionmaker[AsyncSession],
    *,
    platform: str,
    message_key: str,
    payload: str,
    now: datetime,
) -> bool:
    """Insert-or-ignore on (platform, message_key); True if this delivery is new."""
    async with sessions() as db, db.begin():
        stmt = (
            insert_for(db, InboxItem)
            .values(
                platform=platform,
                message_key=message_key,
                payload=payload,
                received_at=now,
                status=ItemStatus.NEW,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["platform", "message_key"])
        )
        result = await db.execute(stmt)
        return bool(rowcount(result))


async def take_batch(
    db: AsyncSession,
    *,
    now: datetime,
    worker: str,
    platforms: list[str],
    limit: int = 10,
    lease: timedelta = LEASE,
) -> list[InboxItem]:
    """Lease up to `limit` new rows, or rows whose lease ran out (a crashed worker's)."""
    ready = (
        select(InboxItem.id)
        .where(
            InboxItem.platform.in_(platforms),
            (InboxItem.status == ItemStatus.NEW)
            | ((InboxItem.status == ItemStatus.TAKEN) & (InboxItem.taken_until < now)),
        )
        .order_by(InboxItem.id)
        .limit(limit)
    )
    if dialect_name(db) == "postgresql":
        ready = ready.with_for_update(skip_locked=True)
    stmt = (
        update(InboxItem)
        .where(InboxItem.id.in_(ready.scalar_subquery()))
        .values(
            status=ItemStatus.TAKEN,
            taken_until=now + lease,
            taken_by=worker,
            attempts=InboxItem.attempts + 1,
        )
        .returning(InboxItem)
        .execution_options(synchronize_session=False)
    )
    rows = list((await db.execute(stmt)).scalars())
    return sorted(rows, key=lambda row: row.id)


async def mark_done(db: AsyncSession, item_id: int, *, now: datetime) -> None:
    await db.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id)
        .values(status=ItemStatus.DONE, done_at=now, taken_until=None, last_error=None)
    )


async def mark_failed(
    db: AsyncSession, item_id: int, *, error: str, dead: bool, retry_at: datetime
) -> None:
    """A bug while handling: retry later (the lease runs out), or give up after N attempts."""
    values: dict[str, object] = {"last_error": error[:2000]}
    if dead:
        values |= {"status": ItemStatus.DEAD, "taken_until": None}
    else:
        values |= {"status": ItemStatus.TAKEN, "taken_until": retry_at}
    await db.execute(update(InboxItem).where(InboxItem.id == item_id).values(**values))


async def pending_count(db: AsyncSession) -> int:
    stmt = select(func.count()).where(InboxItem.status.in_([ItemStatus.NEW, ItemStatus.TAKEN]))
    return int((await db.execute(stmt)).scalar_one())


async def dead_count(db: AsyncSession) -> int:
    stmt = select(func.count()).where(InboxItem.status == ItemStatus.DEAD)
    return int((await db.execute(stmt)).scalar_one())


async def oldest_pending_at(db: AsyncSession) -> datetime | None:
    stmt = select(func.min(InboxItem.received_at)).where(
        InboxItem.status.in_([ItemStatus.NEW, ItemStatus.TAKEN])
    )
    value: datetime | None = (await db.execute(stmt)).scalar_one()
    return value
