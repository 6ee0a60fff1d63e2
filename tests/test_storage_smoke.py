"""The migrated schema works the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from storage import inbox
from storage.models import Team
from storage.queue_models import InboxItem


async def test_datetimes_come_back_aware_in_utc(sessions, clock) -> None:
    shanghai = timezone(timedelta(hours=8))
    async with sessions() as db, db.begin():
        db.add(Team(name="华东一组", created_at=datetime(2026, 3, 5, 18, 30, tzinfo=shanghai)))
    async with sessions() as db:
        team = (await db.execute(select(Team))).scalar_one()
    assert team.created_at == datetime(2026, 3, 5, 10, 30, tzinfo=UTC)
    assert team.created_at.tzinfo is not None


async def test_duplicate_inbox_delivery_is_stored_once(sessions, clock) -> None:
    first = await inbox.store_event(
        sessions, platform="wecom", message_key="k1", payload="<xml/>", now=clock.now()
    )
    second = await inbox.store_event(
        sessions, platform="wecom", message_key="k1", payload="<xml/>", now=clock.now()
    )
    async with sessions() as db:
        rows = (await db.execute(select(InboxItem))).scalars().all()
    assert (first, second, len(rows)) == (True, False, 1)
