"""Retention: audit rows past their (never short) window, and the work queues past theirs."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting.findings import JobResult
from handlers.context import Context
from handlers.errors import UserError
from storage import audit
from storage.purge import purge_finished

log = structlog.get_logger()

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


async def purge_queues(
    db: AsyncSession, ctx: Context, *, now: datetime, dry_run: bool = False
) -> JobResult:
    """The daily purge job: finished inbox/outbox rows and handled events past the retention
    window (SALESBOT_RETENTION_DAYS), and DingTalk signatures past their hour. Pending rows stay."""
    counts = await purge_finished(db, before=now - timedelta(days=ctx.retention_days), now=now)
    log.info("queues_purged", keep_days=ctx.retention_days, dry_run=dry_run, **counts)
    return JobResult()
