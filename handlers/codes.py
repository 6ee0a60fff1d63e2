"""Human codes like C-20261122-003: a per-day counter bumped atomically, gap-free within a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CodeCounter
from storage.upsert import insert_for


async def next_code(db: AsyncSession, prefix: str, day: date) -> str:
    """The row lock (PostgreSQL) or write lock (SQLite) serializes concurrent callers until commit;
    a rolled-back caller rolls its number back too, so codes have no gaps."""
    stamp = day.strftime("%Y%m%d")
    stmt = insert_for(db, CodeCounter).values(kind=prefix, day=stamp, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "day"], set_={"last_seq": CodeCounter.last_seq + 1}
    ).returning(CodeCounter.last_seq)
    seq = (await db.execute(stmt)).scalar_one()
    return f"{prefix}-{stamp}-{seq:03d}"
