"""The low-health rule: a customer whose health score fell under the threshold → the director."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts
from handlers.alerting.findings import Finding, Level, Rule, Subject
from handlers.context import Context
from handlers.timefmt import format_local, local_midnight
from storage.models import Alert, Customer, Task, TaskStatus


async def find_low_health(
    db: AsyncSession,
    ctx: Context,
    *,
    now: datetime,
    customer_ids: Sequence[int] | None = None,
) -> list[Finding]:
    """Customers under the threshold with no live escalation: one per drop (per day at most)."""
    threshold = ctx.rules.health.escalate_below
    live = exists().where(
        Alert.subject_type == Subject.CUSTOMER,
        Alert.subject_id == Customer.id,
        Alert.rule == Rule.HEALTH_LOW,
        Alert.status.in_(alerts.LIVE),
    )
    stmt = select(Customer).where(Customer.health_score < threshold, ~live)
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(list(customer_ids)))
    period = local_midnight(now.astimezone(ctx.tz).date(), ctx.tz)
    findings = []
    for customer in (await db.execute(stmt.order_by(Customer.id))).scalars():
        findings.append(
            Finding(
                rule=Rule.HEALTH_LOW,
                subject_type=Subject.CUSTOMER,
                subject_id=customer.id,
                period=period,
                customer_id=customer.id,
                customer_name=customer.name,
                owner_id=customer.owner_id,
                due={Level.DIRECTOR: now},
                title=customer.name,
                clock=f"的健康分降到了 {customer.health_score}（低于 {threshold} 要请总监关注）",
                evidence=await _last_outcome(db, customer.id, ctx),
            )
        )
    return findings


async def _last_outcome(db: AsyncSession, customer_id: int, ctx: Context) -> str:
    stmt = (
        select(Task)
        .where(
            Task.customer_id == customer_id,
            Task.status.in_((TaskStatus.DONE, TaskStatus.MISSED)),
        )
        .order_by(Task.due_at.desc())
        .limit(1)
    )
    task = (await db.execute(stmt)).scalar_one_or_none()
    if task is None:
        return ""
    if task.status == TaskStatus.MISSED:
        due = format_local(task.due_at, ctx.tz)
        return f"最近任务：#{task.id} {task.title}（{due} 到期）已错过"
    late = task.done_at is not None and task.done_at > task.due_at
    return f"最近任务：#{task.id} {task.title} {'逾期' if late else '按时'}完成"


async def resolve_recovered(db: AsyncSession, ctx: Context, *, now: datetime) -> list[int]:
    recovered = exists().where(
        Customer.id == Alert.subject_id, Customer.health_score >= ctx.rules.health.escalate_below
    )
    condition = and_(
        Alert.rule == Rule.HEALTH_LOW, Alert.subject_type == Subject.CUSTOMER, recovered
    )
    return await alerts.resolve_where(db, condition, now=now)
