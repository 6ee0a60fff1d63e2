"""Dialect-aware SQL for the two databases we support: INSERT ... ON CONFLICT, row counts."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(db: AsyncSession) -> str:
    return db.get_bind().dialect.name


def insert_for(db: AsyncSession, table: Any) -> Any:
    """An Insert with .on_conflict_do_nothing/.on_conflict_do_update for this session's dialect."""
    if dialect_name(db) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE touched."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
