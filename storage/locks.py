"""Advisory locks: one instance runs a scheduled job at a time on PostgreSQL; no-ops on SQLite."""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.upsert import dialect_name


def lock_id(name: str) -> int:
    return zlib.crc32(f"salesbot:{name}".encode())


async def try_job_lock(db: AsyncSession, name: str) -> bool:
    """Take a transaction-scoped advisory lock; False if another instance holds it.

    The lock goes with the transaction, so a crashed holder releases it.
    """
    if dialect_name(db) != "postgresql":
        return True
    result = await db.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": lock_id(name)})
    return bool(result.scalar_one())
