"""Dialect-aware SQL for our two databases: INSERT ... ON CONFLICT, GREATEST, row counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result
from sqlalchemy import func as sql_func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import UTCDateTime


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


def greatest(db: AsyncSession, *columns: Any) -> ColumnElement[datetime]:
    """GREATEST on PostgreSQL, the scalar max() on SQLite; callers coalesce NULLs away."""
    name = "greatest" if dialect_name(db) == "postgresql" else "max"
    return getattr(sql_func, name)(*columns, type_=UTCDateTime())  # type: ignore[no-any-return]
