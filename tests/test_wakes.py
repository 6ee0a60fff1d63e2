"""Workers are woken by the commit that gave them work: after it, not before, not on rollback."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.wakes import wake_after_commit
from handlers.clock import FrozenClock
from storage.models import Team


async def teams(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as db:
        return int((await db.execute(select(func.count()).select_from(Team))).scalar_one())


async def test_the_wake_comes_after_the_commit_when_the_rows_can_be_seen(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    wake = asyncio.Event()
    async with sessions() as db, db.begin():
        db.add(Team(name="华东一组", created_at=clock.now()))
        await db.flush()
        wake_after_commit(db, wake)
        wake_after_commit(db, wake)  # twice in one transaction: still one wake
        assert not wake.is_set()  # a worker woken now would not see the row yet
    assert wake.is_set()
    assert await teams(sessions) == 1


async def test_a_rolled_back_transaction_wakes_nobody(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    wake = asyncio.Event()

    async def failing_handler() -> None:
        async with sessions() as db, db.begin():
            db.add(Team(name="华东一组", created_at=clock.now()))
            await db.flush()
            wake_after_commit(db, wake)
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await failing_handler()
    assert not wake.is_set()
    assert await teams(sessions) == 0


async def test_each_transaction_of_a_session_wakes_again(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    wake = asyncio.Event()
    async with sessions() as db:
        for name in ("华东一组", "华南一组"):
            async with db.begin():
                db.add(Team(name=name, created_at=clock.now()))
                wake_after_commit(db, wake)
            assert wake.is_set()
            wake.clear()
    assert await teams(sessions) == 2
