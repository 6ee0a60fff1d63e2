"""Retention of the work queues: finished inbox and outbox rows and handled events, after N days."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HandledEvent
from storage.queue_models import InboxItem, ItemStatus, OutboxItem
from storage.replay import purge_signatures
from storage.upsert import rowcount

FINISHED = (ItemStatus.DONE, ItemStatus.DEAD)


async def purge_finished(db: AsyncSession, *, before: datetime, now: datetime) -> dict[str, int]:
    """Delete finished rows older than `before` (never pending ones); how many, per table."""
    inbox = await db.execute(
        delete(InboxItem).where(InboxItem.status.in_(FINISHED), InboxItem.received_at < before)
    )
    outbox = await db.execute(
        delete(OutboxItem).where(OutboxItem.status.in_(FINISHED), OutboxItem.created_at < before)
    )
    handled = await db.execute(delete(HandledEvent).where(HandledEvent.handled_at < before))
    return {
        "inbox": rowcount(inbox),
        "outbox": rowcount(outbox),
        "handled_events": rowcount(handled),
        "seen_signatures": await purge_signatures(db, now=now),
    }
