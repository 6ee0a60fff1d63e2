"""Findings → alert rows and notices: plan the ladder, insert once, tell the right people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts, messages
from handlers.alerting.findings import URGENT_LEVELS, Finding, JobResult, Level, Raised
from handlers.alerting.ladder import escalation_time, late_window, plan
from handlers.alerting.messages import Notice
from handlers.alerting.recipients import Directory, Target
from handlers.chat import RecipientKind
from handlers.context import Context
from storage.models import AlertStatus

log = structlog.get_logger()

SAMPLE = 10  # subjects named in a skipped-rows log line


async def raise_findings(
    db: AsyncSession,
    ctx: Context,
    findings: Sequence[Finding],
    *,
    directory: Directory,
    now: datetime,
) -> tuple[list[Raised], list[Notice]]:
    """Raise what each finding's ladder says is due now; one bad finding is logged and skipped."""
    if not findings:
        return [], []
    existing = await alerts.existing_states(db, findings)
    rows: list[dict[str, Any]] = []
    pending: list[tuple[Finding, Level, list[Target], bool, str]] = []
    orphans: list[str] = []
    for finding in findings:
        try:
            owner = directory.active(finding.owner_id)
            if owner is None:
                orphans.append(finding.key_stem)  # no owner, a deleted or departed one
                continue
            for step in plan(
                finding, existing.get(finding.key_stem, []), now=now, rules=ctx.rules, tz=ctx.tz
            ):
                targets = directory.targets(step.level, owner)
                if not targets:
                    log.warning(
                        "watch_nobody_to_tell",
                        rule=finding.rule,
                        level=step.level,
                        subject=finding.key_stem,
                    )
                    break
                late = now - step.scheduled_at > late_window(ctx.rules)
                escalate_at = escalation_time(now, ctx.rules, ctx.tz)
                lines = messages.alert_lines(
                    finding,
                    step.level,
                    owner_name=owner.name,
                    escalate_at=escalate_at,
                    late_since=step.scheduled_at if late else None,
                    rules=ctx.rules,
                    tz=ctx.tz,
                    now=now,
                )
                text = "\n".join(lines)
                rows.append(
                    {
                        "dedupe_key": finding.dedupe_key(step.level),
                        "rule": str(finding.rule),
                        "level": str(step.level),
                        "subject_type": str(finding.subject_type),
                        "subject_id": finding.subject_id,
                        "customer_id": finding.customer_id,
                        "user_id": owner.id,
                        "message": text,
                        "status": AlertStatus.OPEN,
                        "created_at": now,
                        "period_at": finding.period,
                    }
                )
                pending.append((finding, step.level, targets, late, text))
        except Exception:
            log.exception("watch_row_failed", rule=finding.rule, subject=finding.key_stem)
    if orphans:
        # One line per scan, not per row: an unowned backlog must not flood the log.
        log.warning(
            "watch_rows_skipped",
            reason="no_active_owner",
            count=len(orphans),
            sample=orphans[:SAMPLE],
        )
    created = await alerts.insert_new(db, rows)
    raised: list[Raised] = []
    notices: list[Notice] = []
    for finding, level, targets, late, text in pending:
        alert_id = created.get(finding.dedupe_key(level))
        if alert_id is None:
            continue  # raised meanwhile by another run
        raised.append(
            Raised(
                who=", ".join(t.label for t in targets),
                rule=str(finding.rule),
                customer=finding.customer_name,
                level=str(level),
                ref=messages.alert_code(alert_id),
                late=late,
            )
        )
        notices += notices_for(finding, level, targets, alert_id, text)
    return raised, notices


def notices_for(
    finding: Finding, level: Level, targets: list[Target], alert_id: int, text: str
) -> list[Notice]:
    title = messages.card_title(finding.rule, level, finding.customer_name)
    lines = tuple(text.split("\n"))
    owner = finding.owner_id
    notices = []
    for target in targets:
        is_owner = target.kind == RecipientKind.USER and target.id == owner
        in_group = target.kind == RecipientKind.TEAM and owner is not None
        notices.append(
            Notice(
                target=target,
                urgent=level in URGENT_LEVELS,
                mention=(owner,) if in_group and owner is not None else (),
                title=title,
                lines=lines,
                alert_id=alert_id,
                snoozable=is_owner and level not in URGENT_LEVELS,
                customer_id=finding.customer_id,
                level=level,
                subject=finding.key_stem,
            )
        )
    return notices


def result_of(raised: list[Raised], notices: list[Notice]) -> JobResult:
    return JobResult(raised=raised, pushes=messages.pushes_for(notices))
