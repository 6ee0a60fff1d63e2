"""Finding 2: one bad row in a grouped inbox insert fails only its own caller."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.inbox import InboxBatcher, _Row, store_event
from storage.queue_models import InboxItem

NOW = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


async def keys(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as db:
        stmt = select(InboxItem.message_key).order_by(InboxItem.message_key)
        return list((await db.execute(stmt)).scalars())


async def test_a_bad_row_in_a_batch_fails_alone_and_its_batch_mates_are_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    batcher = InboxBatcher()
    # Past the edge checks, as a future bug would be: too long for the key column (PostgreSQL)
    # and a naive time (refused by the UTC column type on both).
    bad = _Row("wecom", "k" * 400, "<xml/>", datetime(2026, 3, 5, 10, 30))  # noqa: DTZ001
    rows = [_Row("wecom", f"m|{n}", "<xml/>", NOW) for n in range(9)]
    rows.insert(4, bad)

    answers = await asyncio.gather(
        *(batcher.store(sessions, row) for row in rows), return_exceptions=True
    )

    assert [isinstance(a, Exception) for a in answers] == [r is bad for r in rows]
    assert [a for a in answers if not isinstance(a, Exception)] == [True] * 9
    assert await keys(sessions) == sorted(f"m|{n}" for n in range(9))


async def test_a_key_too_long_for_the_column_is_refused_before_it_joins_a_batch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    good = store_event(sessions, platform="dingtalk", message_key="msgA", payload="{}", now=NOW)
    bad = store_event(sessions, platform="dingtalk", message_key="m" * 400, payload="{}", now=NOW)
    answers = await asyncio.gather(good, bad, return_exceptions=True)
    assert answers[0] is True
    assert isinstance(answers[1], ValueError)
    assert await keys(sessions) == ["msgA"]


@pytest.mark.parametrize("payload", ['{"text": "a\u0000b"}'])
async def test_a_nul_character_is_refused_before_the_insert(
    sessions: async_sessionmaker[AsyncSession], payload: str
) -> None:
    with pytest.raises(ValueError, match="NUL"):
        await store_event(sessions, platform="dingtalk", message_key="k", payload=payload, now=NOW)
    assert await keys(sessions) == []
