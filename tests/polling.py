"""Waiting for background work in tests: poll with a deadline, never sleep a guessed time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.queue_models import InboxItem, ItemStatus, OutboxItem

T = TypeVar("T")
DEADLINE_S = 15.0


async def eventually(probe: Callable[[], T | Awaitable[T]], *, deadline_s: float = DEADLINE_S) -> T:
    """Poll `probe` (plain or async) until it returns something truthy, or fail at the deadline."""
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline_s
    while True:
        answer = probe()
        result = await answer if inspect.isawaitable(answer) else answer
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > until:
            raise AssertionError(f"still {result!r} after {deadline_s} s")
        await asyncio.sleep(0.02)


async def settled(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Nothing left to do: every inbox row handled and every outbox row sent or dead."""
    busy = [ItemStatus.NEW, ItemStatus.TAKEN]
    async with sessions() as db:
        busy_in = await db.scalar(select(func.count()).where(InboxItem.status.in_(busy)))
        busy_out = await db.scalar(select(func.count()).where(OutboxItem.status.in_(busy)))
    return busy_in == 0 and busy_out == 0
