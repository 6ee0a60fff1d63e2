"""Audit retention: rows older than the window go, the window is never under 180 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.errors import UserError
from handlers.retention import purge_audit
from storage import audit
from storage.models import AuditEntry


@pytest.fixture
async def entries(sessions, clock) -> None:
    """Audit rows 400, 181, 179 and 1 day(s) old."""
    async with sessions() as db, db.begin():
        for days in (400, 181, 179, 1):
            audit.record(db, at=clock.now() - timedelta(days=days), actor_id=None,
                         action="import", entity="customer", entity_id=days)  # fmt: skip


async def test_purge_keeps_the_last_180_days(entries, sessions, clock) -> None:
    async with sessions() as db, db.begin():
        deleted = await purge_audit(db, now=clock.now(), keep_days=180)
    async with sessions() as db:
        left = (await db.execute(select(AuditEntry.entity_id, AuditEntry.action))).all()
    assert deleted == 2
    assert sorted((e or 0, a) for e, a in left) == [(0, "purge"), (1, "import"), (179, "import")]


async def test_a_longer_window_keeps_more(entries, sessions, clock) -> None:
    async with sessions() as db, db.begin():
        assert await purge_audit(db, now=clock.now(), keep_days=365) == 1


async def test_a_window_under_180_days_is_refused_and_nothing_is_deleted(
    entries, sessions, clock, count
) -> None:
    async with sessions() as db, db.begin():
        with pytest.raises(UserError, match="至少保留 180 天"):
            await purge_audit(db, now=clock.now(), keep_days=90)
    assert await count(AuditEntry) == 4


async def test_the_purge_is_audited_with_its_count(entries, sessions, clock) -> None:
    async with sessions() as db, db.begin():
        await purge_audit(db, now=clock.now(), keep_days=180)
    async with sessions() as db:
        entry = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "purge"))
        ).scalar_one()
    assert (entry.at, entry.after) == (
        clock.now(),
        {"deleted": 2, "before": (clock.now() - timedelta(days=180)).isoformat()},
    )
