"""Inbox group commit: concurrent callbacks share a flush and each learns new or duplicate."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import inbox
from storage.queue_models import InboxItem

Sessions = async_sessionmaker[AsyncSession]


def count_flushes(engine: AsyncEngine) -> Counter[str]:
    """Each flush takes one connection from the pool (nothing else runs in these tests)."""
    flushes: Counter[str] = Counter()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(*_args: Any) -> None:
        flushes["flush"] += 1

    return flushes


async def store(sessions: Sessions, clock: Any, platform: str, key: str) -> bool:
    return await inbox.store_event(
        sessions, platform=platform, message_key=key, payload=f"<xml>{key}</xml>", now=clock.now()
    )


async def stored_keys(sessions: Sessions) -> list[tuple[str, str]]:
    async with sessions() as db:
        rows = await db.execute(select(InboxItem.platform, InboxItem.message_key))
        return sorted((platform, key) for platform, key in rows)


async def test_200_concurrent_deliveries_learn_new_or_duplicate_and_each_key_is_stored_once(
    sessions: Sessions, engine: AsyncEngine, clock: Any
) -> None:
    # Stored earlier (a WeCom retry after 5 s): m140..m149 are duplicates on arrival.
    for n in range(140, 150):
        assert await store(sessions, clock, "wecom", f"m{n}")
    calls = [("wecom", f"m{n}") for n in range(150)]
    calls += [("wecom", f"m{n}") for n in range(40)]  # delivered twice within the same burst
    calls += [("dingtalk", f"m{n}") for n in range(10)]  # same id, other platform: its own row
    random.Random(7).shuffle(calls)
    flushes = count_flushes(engine)

    answers = await asyncio.gather(*(store(sessions, clock, p, k) for p, k in calls))

    assert len(calls) == 200
    new_per_key = Counter(call for call, is_new in zip(calls, answers, strict=True) if is_new)
    expected_new = {("wecom", f"m{n}") for n in range(140)} | {
        ("dingtalk", f"m{n}") for n in range(10)
    }
    assert set(new_per_key) == expected_new
    assert set(new_per_key.values()) == {1}  # exactly one caller per new key hears "new"
    assert sum(answers) == 150
    assert await stored_keys(sessions) == sorted(expected_new | set(calls))
    assert flushes["flush"] <= 2  # one shared flush (two if the burst straddled one)


async def test_batches_are_capped_and_still_answer_everyone_right(
    sessions: Sessions, engine: AsyncEngine, clock: Any
) -> None:
    inbox.batcher_for(sessions).max_batch = 50
    flushes = count_flushes(engine)
    keys = [f"k{n % 150}" for n in range(200)]  # k0..k49 twice, possibly in different batches

    answers = await asyncio.gather(*(store(sessions, clock, "wecom", k) for k in keys))

    assert Counter(k for k, is_new in zip(keys, answers, strict=True) if is_new) == Counter(
        {f"k{n}": 1 for n in range(150)}
    )
    assert flushes["flush"] >= 4
    assert len(await stored_keys(sessions)) == 150


async def test_a_failed_flush_fails_every_caller_in_it_and_the_next_flush_works(
    sessions: Sessions, clock: Any
) -> None:
    async with sessions() as db, db.begin():
        await db.execute(text("ALTER TABLE inbox RENAME TO inbox_away"))

    failed = await asyncio.gather(
        *(store(sessions, clock, "wecom", f"f{n}") for n in range(20)), return_exceptions=True
    )

    assert all(isinstance(answer, SQLAlchemyError) for answer in failed), failed
    async with sessions() as db, db.begin():
        await db.execute(text("ALTER TABLE inbox_away RENAME TO inbox"))
    assert await stored_keys(sessions) == []
    # The platform delivers them again, and this time they are stored.
    again = await asyncio.gather(*(store(sessions, clock, "wecom", f"f{n}") for n in range(20)))
    assert again == [True] * 20


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_connection_the_server_dropped_is_retried_on_a_fresh_one(
    sessions: Sessions, engine: AsyncEngine, db_url: str, clock: Any
) -> None:
    assert await store(sessions, clock, "wecom", "before")  # the pool now holds a connection
    disconnects: list[bool] = []
    event.listen(
        engine.sync_engine, "handle_error", lambda ctx: disconnects.append(ctx.is_disconnect)
    )
    url = make_url(db_url)
    admin = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port, database="postgres"
    )
    try:  # what a server restart does to our idle pooled connection
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
            url.database,
        )
    finally:
        await admin.close()
    assert killed >= 1

    assert await store(sessions, clock, "wecom", "after")  # no pre-ping: one retry does it

    assert disconnects == [True]  # the first attempt met the dead connection

    assert await stored_keys(sessions) == [("wecom", "after"), ("wecom", "before")]
