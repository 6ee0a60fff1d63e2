"""Outbox: pushes written in the handler's own transaction, leased and delivered by the sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.queue_models import ItemStatus, OutboxItem
from storage.upsert import insert_for, rowcount

LEASE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message goes on one platform, and what its rate limit is counted per."""

    platform: str
    channel: str
    target: str
    rate_key: str


async def add(
    db: AsyncSession,
    address: Address,
    payload: dict[str, Any],
    *,
    now: datetime,
    not_before: datetime | None = None,
    dedupe_key: str | None = None,
    source: str | None = None,
) -> int | None:
    """Queue one message; a repeated dedupe_key is ignored (returns None)."""
    stmt = (
        insert_for(db, OutboxItem)
        .values(
            platform=address.platform,
            channel=address.channel,
            target=address.target,
            rate_key=address.rate_key,
            payload=payload,
            dedupe_key=dedupe_key,
            status=ItemStatus.NEW,
            attempts=0,
            next_attempt_at=max(now, not_before) if not_before else now,
            created_at=now,
            source=source,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxItem.id)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def take_due(
    db: AsyncSession,
    *,
    now: datetime,
    platforms: list[str],
    limit: int = 20,
    lease: timedelta = LEASE,
) -> list[OutboxItem]:
    rows = await leases.take(
        db,
        OutboxItem,
        now=now,
        lease=lease,
        platforms=platforms,
        limit=limit,
        order_by=[OutboxItem.next_attempt_at, OutboxItem.id],
        also=[OutboxItem.next_attempt_at <= now],
    )
    return sorted(rows, key=lambda row: (row.next_attempt_at, row.id))


async def sent_recently(db: AsyncSession, rate_key: str, *, since: datetime) -> int:
    stmt = select(func.count()).where(
        OutboxItem.rate_key == rate_key,
        OutboxItem.status == ItemStatus.DONE,
        OutboxItem.sent_at > since,
    )
    return int((await db.execute(stmt)).scalar_one())


async def mark_sent(
    db: AsyncSession, item_id: int, *, now: datetime, result: dict[str, Any] | None = None
) -> None:
    await db.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(status=ItemStatus.DONE, sent_at=now, taken_until=None, result=result)
    )


async def postpone(
    db: AsyncSession, item_id: int, *, until: datetime, error: str | None, count_attempt: bool
) -> None:
    """Back off (an error) or wait for a rate-limit window (not counted as an attempt)."""
    values: dict[str, Any] = {
        "status": ItemStatus.NEW,
        "next_attempt_at": until,
        "taken_until": None,
    }
    if error is not None:
        values["last_error"] = error[:2000]
    if not count_attempt:
        values["attempts"] = OutboxItem.attempts - 1
    await db.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))


async def mark_dead(db: AsyncSession, item_id: int, *, error: str) -> None:
    await db.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(status=ItemStatus.DEAD, taken_until=None, last_error=error[:2000])
    )


async def list_items(db: AsyncSession, *, dead_only: bool, limit: int = 200) -> list[OutboxItem]:
    stmt = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
    if dead_only:
        stmt = stmt.where(OutboxItem.status == ItemStatus.DEAD)
    else:
        stmt = stmt.where(OutboxItem.status != ItemStatus.DONE)
    return list((await db.execute(stmt)).scalars())


async def retry(db: AsyncSession, item_id: int, *, now: datetime) -> bool:
    """Put a dead (or stuck) row back in the queue with fresh attempts."""
    result = await db.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.status != ItemStatus.DONE)
        .values(status=ItemStatus.NEW, attempts=0, next_attempt_at=now, taken_until=None)
    )
    return bool(rowcount(result))


async def depth(db: AsyncSession) -> dict[str, int]:
    stmt = select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
    return {status: int(n) for status, n in (await db.execute(stmt)).all()}
