"""Silent steps: an open commitment or an accepted task with no activity for silent_step_hours.

A commitment's activity is its own (registered, kept) or a follow-up with its customer; a task's
is being pushed, accepted or worked on. Past their due time the due/overdue rules take over.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy import func as sql_func
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts
from handlers.alerting.findings import Finding, Level, Rule, Subject
from handlers.context import Context
from handlers.timefmt import format_local
from storage.models import Alert, Commitment, CommitmentStatus, Customer, Task, TaskStatus
from storage.upsert import greatest


async def find_silent_steps(db: AsyncSession, ctx: Context, *, now: datetime) -> list[Finding]:
    hours = ctx.rules.silent_step_hours
    quiet_since = now - timedelta(hours=hours)
    activity = greatest(
        db,
        Commitment.last_activity_at,
        sql_func.coalesce(Customer.last_evidence_at, Commitment.last_activity_at),
    )
    told = exists().where(
        Alert.subject_type == Subject.COMMITMENT,
        Alert.subject_id == Commitment.id,
        Alert.rule == Rule.SILENT_STEP,
        Alert.period_at == activity,
    )
    commitments = (
        select(Commitment, Customer.name, activity.label("activity"))
        .join(Customer, Customer.id == Commitment.customer_id)
        .where(
            Commitment.status == CommitmentStatus.OPEN,
            Commitment.due_at > now,
            activity <= quiet_since,
            ~told,
        )
        .order_by(Commitment.id)
    )
    findings = []
    for commitment, name, last in (await db.execute(commitments)).all():
        findings.append(
            _finding(
                Subject.COMMITMENT,
                commitment.id,
                last,
                commitment.customer_id,
                name,
                commitment.owner_id,
                f"{name}：承诺「{commitment.what}」",
                f"兑现 {commitment.code}」或「跟进 {name} …",
                ctx,
                now=now,
            )
        )
    told_task = exists().where(
        Alert.subject_type == Subject.TASK,
        Alert.subject_id == Task.id,
        Alert.rule == Rule.SILENT_STEP,
        Alert.period_at == Task.last_activity_at,
    )
    tasks = (
        select(Task, Customer.name)
        .join(Customer, Customer.id == Task.customer_id)
        .where(
            Task.status == TaskStatus.ACCEPTED,
            Task.assignee_id.is_not(None),
            Task.due_at > now,
            Task.last_activity_at <= quiet_since,
            ~told_task,
        )
        .order_by(Task.id)
    )
    for task, name in (await db.execute(tasks)).all():
        if task.assignee_id is None:
            continue
        findings.append(
            _finding(
                Subject.TASK,
                task.id,
                task.last_activity_at,
                task.customer_id,
                name,
                task.assignee_id,
                f"{name}：任务卡 #{task.id}「{task.title}」",
                f"完成 {task.id} 做了什么",
                ctx,
                now=now,
            )
        )
    return findings


def _finding(
    subject_type: Subject,
    subject_id: int,
    last: datetime,
    customer_id: int,
    customer_name: str,
    owner_id: int,
    title: str,
    remedy: str,
    ctx: Context,
    *,
    now: datetime,
) -> Finding:
    hours = ctx.rules.silent_step_hours
    quiet_h = int((now - last).total_seconds() // 3600)
    return Finding(
        rule=Rule.SILENT_STEP,
        subject_type=subject_type,
        subject_id=subject_id,
        period=last,
        customer_id=customer_id,
        customer_name=customer_name,
        owner_id=owner_id,
        due={Level.NOTICE: last + timedelta(hours=hours)},
        title=title,
        clock=f"已经 {quiet_h} 小时没有动静（要求 {hours} 小时内有进展）",
        evidence=f"上次动静：{format_local(last, ctx.tz)}",
        remedy=remedy,
    )


async def resolve_active_steps(db: AsyncSession, ctx: Context, *, now: datetime) -> list[int]:
    """Activity since, or closed: a silent-step warning resolves itself."""
    activity = greatest(
        db,
        Commitment.last_activity_at,
        sql_func.coalesce(Customer.last_evidence_at, Commitment.last_activity_at),
    )
    commitment_gone = exists().where(
        Commitment.id == Alert.subject_id,
        Customer.id == Commitment.customer_id,
        or_(Commitment.status != CommitmentStatus.OPEN, activity > Alert.period_at),
    )
    task_gone = exists().where(
        Task.id == Alert.subject_id,
        or_(Task.status != TaskStatus.ACCEPTED, Task.last_activity_at > Alert.period_at),
    )
    condition = and_(
        Alert.rule == Rule.SILENT_STEP,
        or_(
            and_(Alert.subject_type == Subject.COMMITMENT, commitment_gone),
            and_(Alert.subject_type == Subject.TASK, task_gone),
        ),
    )
    return await alerts.resolve_where(db, condition, now=now)
