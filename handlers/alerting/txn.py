"""Job transaction helpers: a dry run rolls everything back; one bad row is logged and skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger()


@asynccontextmanager
async def dry_run_guard(db: AsyncSession, dry_run: bool) -> AsyncIterator[None]:
    """With dry_run, everything written inside is rolled back (the caller may still commit)."""
    if not dry_run:
        yield
        return
    savepoint = await db.begin_nested()
    try:
        yield
    finally:
        await savepoint.rollback()


@asynccontextmanager
async def isolated(db: AsyncSession, event: str, **ids: Any) -> AsyncIterator[None]:
    """Run one row's work in a savepoint: if it fails, its writes go, the error is logged,
    and the job carries on with the next row."""
    savepoint = await db.begin_nested()
    try:
        yield
    except Exception:
        await savepoint.rollback()
        log.exception(event, **ids)
    else:
        await savepoint.commit()
