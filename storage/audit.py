"""Audit log: every mutation writes who did what, before and after, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry
from storage.upsert import rowcount


def record(
    db: AsyncSession,
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    db.add(
        AuditEntry(
            at=at,
            actor_id=actor_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=_jsonable(before),
            after=_jsonable(after),
            note=note,
        )
    )


async def purge_older_than(db: AsyncSession, cutoff: datetime) -> int:
    result = await db.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))
    return rowcount(result)


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif value is None or isinstance(value, str | int | float | bool | list | dict):
            out[key] = value
        else:
            out[key] = str(value)
    return out
