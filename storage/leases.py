"""Leased work queues (inbox, outbox, voice jobs): a worker takes rows that no live lease holds.

A row is takeable when it is new, or taken under a lease that has run out (its worker died).
On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED, so workers never wait on each
other nor take the same row; SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.queue_models import InboxItem, ItemStatus, OutboxItem, VoiceJob
from storage.upsert import dialect_name

Row = TypeVar("Row", InboxItem, OutboxItem, VoiceJob)


async def take(
    db: AsyncSession,
    model: type[Row],
    *,
    now: datetime,
    lease: timedelta,
    platforms: Sequence[str],
    limit: int,
    order_by: Sequence[Any],
    also: Sequence[ColumnElement[bool]] = (),
    **marks: Any,
) -> list[Row]:
    """Lease up to `limit` rows in `order_by` order; `marks` are set on them too (taken_by)."""
    takeable = (model.status == ItemStatus.NEW) | (
        (model.status == ItemStatus.TAKEN) & (model.taken_until < now)
    )
    ready = (
        select(model.id)
        .where(model.platform.in_(platforms), takeable, *also)
        .order_by(*order_by)
        .limit(limit)
    )
    if dialect_name(db) == "postgresql":
        ready = ready.with_for_update(skip_locked=True)
    stmt = (
        update(model)
        .where(model.id.in_(ready.scalar_subquery()))
        .values(
            status=ItemStatus.TAKEN,
            taken_until=now + lease,
            attempts=model.attempts + 1,
            **marks,
        )
        .returning(model)
        .execution_options(synchronize_session=False)
    )
    return list((await db.execute(stmt)).scalars())
