"""Retention: audit rows older than the kept window are deleted, and the window is never short."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import UserError
from storage import audit

MIN_AUDIT_KEEP_DAYS = 180


async def purge_audit(db: AsyncSession, *, now: datetime, keep_days: int) -> int:
    """Delete audit rows older than keep_days (the purge is audited); returns how many."""
    if keep_days < MIN_AUDIT_KEEP_DAYS:
        raise UserError(
            f"审计日志至少保留 {MIN_AUDIT_KEEP_DAYS} 天，不能只保留 {keep_days} 天 "
            f"(audit rows are kept at least {MIN_AUDIT_KEEP_DAYS} days)",
            example=f"--keep-days {MIN_AUDIT_KEEP_DAYS}",
        )
    cutoff = now - timedelta(days=keep_days)
    deleted = await audit.purge_older_than(db, cutoff)
    audit.record(
        db,
        at=now,
        actor_id=None,
        action="purge",
        entity="audit_log",
        entity_id=None,
        after={"deleted": deleted, "before": cutoff},
        note=f"kept {keep_days} days",
    )
    return deleted
