"""Task SLAs: a card not accepted in time, or not done by its due time, climbs the ladder."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts
from handlers.alerting.findings import Finding, Level, Rule, Subject
from handlers.alerting.messages import format_span
from handlers.context import Context
from handlers.timefmt import format_local
from storage.models import Alert, Customer, Task, TaskStatus

OPEN = (TaskStatus.PUSHED, TaskStatus.ACCEPTED)


def _graces(ctx: Context) -> tuple[timedelta, timedelta]:
    grace = timedelta(hours=ctx.rules.escalation.task_grace_hours)
    return grace, grace + timedelta(hours=ctx.rules.escalation.task_director_grace_hours)


async def find_task_sla(db: AsyncSession, ctx: Context, *, now: datetime) -> list[Finding]:
    findings = await _find(db, ctx, now=now, rule=Rule.TASK_ACCEPT)
    return findings + await _find(db, ctx, now=now, rule=Rule.TASK_DONE)


async def _find(db: AsyncSession, ctx: Context, *, now: datetime, rule: Rule) -> list[Finding]:
    red_after, director_after = _graces(ctx)
    deadline: Any = Task.accept_by if rule == Rule.TASK_ACCEPT else Task.due_at
    level = case(
        (deadline <= now - director_after, literal(Level.DIRECTOR.value)),
        (deadline <= now - red_after, literal(Level.RED.value)),
        else_=literal(Level.YELLOW.value),
    )
    told = exists().where(
        Alert.subject_type == Subject.TASK,
        Alert.subject_id == Task.id,
        Alert.rule == rule,
        Alert.level == level,
        Alert.period_at == deadline,
    )
    scope = (
        and_(Task.status == TaskStatus.PUSHED, Task.due_at > now)
        if rule == Rule.TASK_ACCEPT
        else Task.status.in_(OPEN)
    )
    stmt = (
        select(Task, Customer.name)
        .join(Customer, Customer.id == Task.customer_id)
        .where(scope, Task.assignee_id.is_not(None), deadline <= now, ~told)
        .order_by(Task.id)
    )
    findings = []
    for task, name in (await db.execute(stmt)).all():
        if task.assignee_id is None:
            continue
        at = task.accept_by if rule == Rule.TASK_ACCEPT else task.due_at
        due = {
            lvl: when
            for lvl, when in (
                (Level.YELLOW, at),
                (Level.RED, at + red_after),
                (Level.DIRECTOR, at + director_after),
            )
            if when <= now
        }
        verb = "接受" if rule == Rule.TASK_ACCEPT else "完成"
        findings.append(
            Finding(
                rule=rule,
                subject_type=Subject.TASK,
                subject_id=task.id,
                period=at,
                customer_id=task.customer_id,
                customer_name=name,
                owner_id=task.assignee_id,
                due=due,
                title=f"{name}：任务卡 #{task.id}「{task.title}」",
                clock=(
                    f"应在 {format_local(at, ctx.tz)} 前{verb}，已经晚了 "
                    f"{format_span((now - at).total_seconds())}"
                ),
                evidence=_progress(task, ctx),
                remedy=f"接受 {task.id}"
                if rule == Rule.TASK_ACCEPT
                else f"完成 {task.id} 做了什么",
                laddered=True,
            )
        )
    return findings


def _progress(task: Task, ctx: Context) -> str:
    if task.accepted_at is not None:
        return f"{format_local(task.accepted_at, ctx.tz)} 接受了，还没有完成"
    if task.pushed_at is not None:
        return f"{format_local(task.pushed_at, ctx.tz)} 发出，还没有接受"
    return ""


async def resolve_settled_tasks(db: AsyncSession, ctx: Context, *, now: datetime) -> list[int]:
    """Accepted (for the accept SLA), done or missed: the task's warnings resolve themselves."""
    accept_gone = exists().where(
        Task.id == Alert.subject_id,
        or_(Task.status != TaskStatus.PUSHED, Task.accept_by != Alert.period_at),
    )
    done_gone = exists().where(
        Task.id == Alert.subject_id,
        or_(Task.status.not_in(OPEN), Task.due_at != Alert.period_at),
    )
    condition = and_(
        Alert.subject_type == Subject.TASK,
        or_(
            and_(Alert.rule == Rule.TASK_ACCEPT, accept_gone),
            and_(Alert.rule == Rule.TASK_DONE, done_gone),
        ),
    )
    return await alerts.resolve_where(db, condition, now=now)
