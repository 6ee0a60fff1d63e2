"""The watch job: resolve what went away, wake snoozes, then raise every rule's due warnings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts, messages
from handlers.alerting.findings import Finding, JobResult, Raised
from handlers.alerting.raising import raise_findings, result_of
from handlers.alerting.recipients import Directory, Target
from handlers.alerting.txn import dry_run_guard
from handlers.chat import RecipientKind
from handlers.context import Context
from handlers.stall_clock import WorkdayCounter
from handlers.watch import commitments, leads, low_health, silence, stage_stall, task_sla
from storage.models import Customer

log = structlog.get_logger()

Resolver = Callable[[AsyncSession, Context], Awaitable[list[int]]]

RESOLVERS = (
    stage_stall.resolve_stalls,
    leads.resolve_touched_leads,
    commitments.resolve_closed_commitments,
    silence.resolve_active_steps,
    task_sla.resolve_settled_tasks,
    low_health.resolve_recovered,
)


async def run_watch(
    db: AsyncSession, ctx: Context, *, now: datetime, dry_run: bool = False
) -> JobResult:
    """Every watch rule as of `now`, from the database state alone (a late run catches up)."""
    async with dry_run_guard(db, dry_run):
        directory = await Directory.load(db)
        resolved = 0
        for resolve in RESOLVERS:
            resolved += len(await resolve(db, ctx, now=now))
        woken_raised, woken_notices = await _wake(db, directory, now=now)
        counter = WorkdayCounter()
        findings: list[Finding] = []
        findings += await leads.find_untouched_leads(db, ctx, now=now)
        findings += await stage_stall.find_stalls(db, ctx, now=now, counter=counter)
        findings += await commitments.find_commitments_due(db, ctx, now=now)
        findings += await silence.find_silent_steps(db, ctx, now=now)
        findings += await task_sla.find_task_sla(db, ctx, now=now)
        findings += await low_health.find_low_health(db, ctx, now=now)
        raised, notices = await raise_findings(db, ctx, findings, directory=directory, now=now)
        log.info(
            "watch_scanned",
            findings=len(findings),
            raised=len(raised),
            resolved=resolved,
            woken=len(woken_raised),
            dry_run=dry_run,
        )
        return result_of(woken_raised + raised, woken_notices + notices)


async def _wake(
    db: AsyncSession, directory: Directory, *, now: datetime
) -> tuple[list[Raised], list[messages.Notice]]:
    """A snooze ran out: the warning goes back to its owner once, and its ladder resumes."""
    woken = await alerts.wake_snoozed(db, now=now)
    names = await _customer_names(db, [a.customer_id for a in woken if a.customer_id is not None])
    raised: list[Raised] = []
    notices: list[messages.Notice] = []
    for alert in woken:
        owner = directory.active(alert.user_id)
        if owner is None:
            log.warning("watch_row_skipped", reason="owner_missing_or_inactive", alert=alert.id)
            continue
        code = messages.alert_code(alert.id)
        raised.append(
            Raised(
                owner.name, alert.rule, names.get(alert.customer_id or 0, ""), "reminder", ref=code
            )
        )
        notices.append(
            messages.Notice(
                target=Target(RecipientKind.USER, owner.id, owner.name),
                urgent=False,
                mention=(),
                title=messages.card_title(
                    alert.rule, alert.level, names.get(alert.customer_id or 0, "")
                ),
                lines=("⏰ 稍后提醒到了：", *alert.message.split("\n")),
                alert_id=alert.id,
                snoozable=False,  # a warning is put off once
                key=f"wake:{alert.snoozed_until:%Y%m%dT%H%M%S}",
                customer_id=alert.customer_id,
                level=alert.level,
                subject=f"{alert.rule}:{alert.subject_type}:{alert.subject_id}",
            )
        )
    return raised, notices


async def _customer_names(db: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {row[0]: row[1] for row in rows.all()}
