"""Finding 7: finished inbox/outbox rows and handled events are purged after the window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs import JOBS, run_job
from config.rules import Rules
from config.settings import Settings
from handlers.clock import FrozenClock
from handlers.context import Context
from storage.guard_models import SeenSignature
from storage.models import HandledEvent
from storage.queue_models import InboxItem, ItemStatus, OutboxItem
from tests.core.conftest import SHANGHAI


async def no_pushes(db: AsyncSession, pushes: list[Any], *, now: datetime) -> None:
    assert pushes == []


async def count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


def inbox(key: str, status: ItemStatus, at: datetime) -> InboxItem:
    return InboxItem(
        platform="wecom", message_key=key, payload="<xml/>", received_at=at, status=status
    )


def outbox(status: ItemStatus, at: datetime) -> OutboxItem:
    return OutboxItem(
        platform="wecom",
        channel="app_user",
        target="wanglei",
        payload={"type": "reply", "text": "好"},
        rate_key="wecom:user:wanglei",
        status=status,
        next_attempt_at=at,
        created_at=at,
    )


def test_the_default_retention_is_30_days_and_purge_is_a_daily_job() -> None:
    assert Settings().retention_days == 30
    assert "purge" in JOBS


async def test_the_purge_deletes_finished_rows_past_the_window_and_keeps_the_rest(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, rules: Rules
) -> None:
    now = clock.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    async with sessions() as db, db.begin():
        db.add_all(
            [
                inbox("old-done", ItemStatus.DONE, old),
                inbox("old-dead", ItemStatus.DEAD, old),
                inbox("old-pending", ItemStatus.NEW, old),  # never handled: kept
                inbox("recent-done", ItemStatus.DONE, recent),
                outbox(ItemStatus.DONE, old),
                outbox(ItemStatus.NEW, old),  # still to send (quiet hours, backoff): kept
                outbox(ItemStatus.DONE, recent),
                HandledEvent(platform="wecom", message_id="a", handled_at=old, replies=[]),
                HandledEvent(platform="wecom", message_id="b", handled_at=recent, replies=[]),
                SeenSignature(
                    platform="dingtalk", signature="1:x", message_key="m", expires_at=old
                ),
            ]
        )
    ctx = Context(clock=clock, rules=rules, tz=SHANGHAI, retention_days=30)

    lines = await run_job("purge", sessions=sessions, ctx=ctx, now=now, enqueue=no_pushes)

    assert lines == ["raised 0"]
    async with sessions() as db:
        keys = sorted((await db.execute(select(InboxItem.message_key))).scalars())
        statuses = sorted((await db.execute(select(OutboxItem.status))).scalars())
    assert keys == ["old-pending", "recent-done"]
    assert statuses == [ItemStatus.DONE, ItemStatus.NEW]
    assert await count(sessions, HandledEvent) == 1
    assert await count(sessions, SeenSignature) == 0
