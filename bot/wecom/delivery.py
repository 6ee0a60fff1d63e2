"""WeCom delivery policy: per-target rate limits, and what each errcode means for a queued row."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import Dead, Delivery, RetryAt
from storage.outbox import sent_recently
from storage.queue_models import ItemStatus, OutboxItem

WINDOW = timedelta(seconds=60)
# WeCom drops app messages past 30/min per member without an error; robots take 20/min; an
# appchat member receives at most 200/min, so 200/min per chat keeps every member under it.
LIMITS_PER_MINUTE = {"app_user": 30, "group_robot": 20, "appchat": 200}

BUSY = frozenset({-1, 45033})  # system busy, concurrency limit: back off briefly
THROTTLED = 45009  # frequency limit: wait a full window, do not count it as a failure
# Configuration the admin can fix (trusted IP, permissions, visibility): retry slowly.
CONFIG = frozenset({40013, 40091, 41001, 48002, 60011, 60020})
# The request itself is wrong or pointless to repeat: recipient invalid, bad fields, bad key.
HOPELESS = frozenset({40008, 44004, 45002, 81013, 82001, 93000, 42014}) | frozenset(
    range(42027, 42050)
)
TASK_ID_EXISTS = 42014
CONFIG_RETRY = timedelta(minutes=5)
MAX_BACKOFF = timedelta(minutes=10)


async def rate_limit_until(
    sessions: async_sessionmaker[AsyncSession], item: OutboxItem, *, now: datetime
) -> datetime | None:
    """When this row's target frees a slot, or None if it may be sent now."""
    limit = LIMITS_PER_MINUTE.get(item.channel)
    if limit is None:
        return None
    since = now - WINDOW
    async with sessions() as db:
        count = await sent_recently(db, item.rate_key, since=since)
        if count < limit:
            return None
        # The window frees a slot when the (count - limit + 1)-th oldest send in it ages out.
        stmt = (
            select(OutboxItem.sent_at)
            .where(
                OutboxItem.rate_key == item.rate_key,
                OutboxItem.status == ItemStatus.DONE,
                OutboxItem.sent_at > since,
            )
            .order_by(OutboxItem.sent_at)
            .offset(count - limit)
            .limit(1)
        )
        oldest = (await db.execute(stmt)).scalar_one_or_none()
    return (oldest or now) + WINDOW


def backoff(attempts: int, *, now: datetime) -> datetime:
    """10 s, 20 s, 40 s … capped at 10 minutes."""
    delay = timedelta(seconds=10 * 2 ** max(attempts - 1, 0))
    return now + min(delay, MAX_BACKOFF)


def after_error(
    errcode: int, errmsg: str, *, attempts: int, is_card_update: bool, now: datetime
) -> Delivery:
    """A WeCom errcode → retry later, wait out a limit, or give up."""
    error = f"wecom {errcode}: {errmsg}"
    if errcode == THROTTLED:
        return RetryAt(now + WINDOW, error, count_attempt=False)
    if errcode in BUSY:
        return RetryAt(backoff(attempts, now=now), error)
    if errcode in CONFIG:
        return RetryAt(now + CONFIG_RETRY, error)
    if errcode in HOPELESS or is_card_update:  # a response_code is single-use: no second try
        return Dead(error)
    return RetryAt(backoff(attempts, now=now), error)
