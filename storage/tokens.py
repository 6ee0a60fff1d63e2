"""Access tokens shared by every instance: cached in the database, refreshed one at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.queue_models import PlatformToken
from storage.upsert import dialect_name, insert_for

REFRESH_EARLY = timedelta(minutes=5)

# fetch() returns (token, lifetime in seconds)
Fetch = Callable[[], Awaitable[tuple[str, int]]]


async def get_token(
    sessions: async_sessionmaker[AsyncSession],
    key: str,
    fetch: Fetch,
    *,
    now: Callable[[], datetime],
    force_refresh_of: str | None = None,
) -> str:
    """The cached token, or a fresh one; `force_refresh_of` names a token the platform rejected."""
    cached = await _read(sessions, key)
    if cached and cached.token != force_refresh_of and cached.expires_at - REFRESH_EARLY > now():
        return cached.token
    async with sessions() as db, db.begin():
        if dialect_name(db) == "postgresql":  # one refresh at a time across instances
            await db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
        row = (await db.execute(select(PlatformToken).where(PlatformToken.key == key))).scalar()
        if row and row.token != force_refresh_of and row.expires_at - REFRESH_EARLY > now():
            return row.token  # another instance refreshed it while we waited
        token, lifetime_s = await fetch()
        at = now()
        stmt = insert_for(db, PlatformToken).values(
            key=key, token=token, expires_at=at + timedelta(seconds=lifetime_s), refreshed_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"token": token, "expires_at": stmt.excluded.expires_at, "refreshed_at": at},
        )
        await db.execute(stmt)
        return token


async def _read(sessions: async_sessionmaker[AsyncSession], key: str) -> PlatformToken | None:
    async with sessions() as db:
        return (await db.execute(select(PlatformToken).where(PlatformToken.key == key))).scalar()


async def forget(sessions: async_sessionmaker[AsyncSession], key: str) -> None:
    async with sessions() as db, db.begin():
        await db.execute(delete(PlatformToken).where(PlatformToken.key == key))
