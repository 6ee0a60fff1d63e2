"""Dialect-aware INSERT ... ON CONFLICT for the two databases we support."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(db: AsyncSession, table: Any) -> Any:
    """An Insert with .on_conflict_do_nothing/.on_conflict_do_update for this session's dialect."""
    if db.bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
