"""Task cards in chat: 任务 lists mine, 接受 accepts, 完成 completes with evidence (text, image)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import attachments, health
from handlers.alerting import alerts
from handlers.alerting.findings import Rule, Subject
from handlers.alerting.raising import raise_findings, result_of
from handlers.alerting.recipients import Directory
from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import NotAllowed, UserError
from handlers.numbers import parse_id
from handlers.permissions import Access, owns, refusal_for
from handlers.timefmt import format_local
from handlers.watch.low_health import find_low_health
from storage import audit
from storage.models import Alert, Customer, Task, TaskStatus, User

ACCEPT_EXAMPLE = "接受 12"
DONE_EXAMPLE = "完成 12 已电话回访，客户满意度 9 分"
_NUMBER = re.compile(r"^(?:#|T|任务)?(\d+)$", re.IGNORECASE)
OPEN = (TaskStatus.PUSHED, TaskStatus.ACCEPTED)
UPCOMING_DAYS = 7
STATUS_LABEL: dict[str, str] = {
    TaskStatus.PLANNED: "未推送",
    TaskStatus.PUSHED: "待接受",
    TaskStatus.ACCEPTED: "已接受",
    TaskStatus.DONE: "已完成",
    TaskStatus.MISSED: "已错过",
}


async def list_tasks(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """任务: my open task cards, then the ones coming up this week."""
    now = ctx.clock.now()
    stmt = (
        select(Task, Customer.name)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.assignee_id == cmd.user.id)
        .order_by(Task.due_at, Task.id)
    )
    mine = (
        await db.execute(
            stmt.where(
                Task.status.in_(OPEN)
                | and_(
                    Task.status == TaskStatus.PLANNED,
                    Task.push_at <= now + timedelta(days=UPCOMING_DAYS),
                )
            )
        )
    ).all()
    if not mine:
        return [Reply("你当前没有待办任务卡。")]
    # The count says what the list shows: open cards, and those still to come, each counted.
    open_count = sum(1 for t, _ in mine if t.status in OPEN)
    coming = len(mine) - open_count
    counts = [f"待处理 {open_count} 张"] + (
        [f"{UPCOMING_DAYS} 天内将推送 {coming} 张"] if coming else []
    )
    lines = [f"你的任务卡：{'，'.join(counts)}"]
    for task, name in mine:
        if task.status == TaskStatus.PUSHED:
            when = f"{format_local(task.accept_by, ctx.tz)} 前接受"
        elif task.status == TaskStatus.ACCEPTED:
            when = f"{format_local(task.due_at, ctx.tz)} 前完成"
        else:
            when = f"{format_local(task.push_at, ctx.tz)} 推送"
        flag = "🔴" if task.status in OPEN and task.due_at < now else ""
        lines.append(f"{flag}#{task.id} {task.title}｜{name}｜{STATUS_LABEL[task.status]}，{when}")
    lines.append("接受：接受 <编号>；完成：完成 <编号> <说明>（或发一张图片）")
    return [Reply("\n".join(lines))]


async def accept_task(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """接受 <编号>"""
    task, customer = await _task_for(cmd, db, example=ACCEPT_EXAMPLE)
    if task.status in (TaskStatus.DONE, TaskStatus.MISSED):
        raise UserError(f"任务卡 #{task.id} {STATUS_LABEL[task.status]}", example=DONE_EXAMPLE)
    now = ctx.clock.now()
    replies: list[Outgoing] = []
    if task.status != TaskStatus.ACCEPTED:
        before = task.status
        task.status = TaskStatus.ACCEPTED
        task.pushed_at = task.pushed_at or now
        task.accepted_at = now
        task.last_activity_at = now
        audit.record(
            db,
            at=now,
            actor_id=cmd.user.id,
            action="task_accepted",
            entity="task",
            entity_id=task.id,
            before={"status": before},
            after={"status": task.status},
        )
        await _resolve_task_alerts(db, task, now=now)
    replies.append(
        Reply(
            f"已接受任务卡 #{task.id}：{task.title}（{customer.name}），请在 "
            f"{format_local(task.due_at, ctx.tz)} 前完成。"
            f"完成后回复「完成 {task.id} <说明>」或发一张图片"
        )
    )
    return cmd.with_card_update(replies, "已接受 ✓")


async def complete_task(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """完成 <编号> <说明>: without a note, the next image the sender sends is the evidence."""
    task, customer = await _task_for(cmd, db, example=DONE_EXAMPLE)
    if task.status in (TaskStatus.DONE, TaskStatus.MISSED):
        return [Reply(f"任务卡 #{task.id} {STATUS_LABEL[task.status]}，无需再完成")]
    note = cmd.rest.split(maxsplit=1)[1].strip() if len(cmd.rest.split(maxsplit=1)) > 1 else ""
    now = ctx.clock.now()
    picture = cmd.event.media_id  # 完成 12 with a photo in the same message (richText, mixed)
    if picture:
        await attachments.claim(db, cmd.event, kind="image", task_id=task.id)
        replies = await finish(
            db, ctx, task, customer, by=cmd.user, evidence=note or "（图片凭证）", media_id=picture
        )
        return cmd.with_card_update(replies, "已完成 ✓")
    if not note:
        task.evidence_asked_at = now
        return [
            Reply(
                f"请附上任务卡 #{task.id} 的完成凭证：回复「完成 {task.id} <一句说明>」，"
                "或直接发一张图片（如回访记录截图）"
            )
        ]
    replies = await finish(db, ctx, task, customer, by=cmd.user, evidence=note, media_id=None)
    return cmd.with_card_update(replies, "已完成 ✓")


async def attach_image(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """A picture: the evidence of the task waiting for one, else kept for the next follow-up."""
    return await _attach(cmd, db, ctx, kind="image")


async def attach_file(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """A file or video: the same, and an answer saying what the bot does with files."""
    return await _attach(cmd, db, ctx, kind=cmd.event.media_format or "file")


async def _attach(cmd: Command, db: AsyncSession, ctx: Context, *, kind: str) -> list[Outgoing]:
    noun = attachments.NOUNS.get(kind, "文件")
    stmt = (
        select(Task, Customer)
        .join(Customer, Customer.id == Task.customer_id)
        .where(
            Task.assignee_id == cmd.user.id,
            Task.status.in_(OPEN),
            Task.evidence_asked_at.is_not(None),
        )
        .order_by(Task.evidence_asked_at.desc(), Task.id.desc())
        .limit(1)
    )
    found = (await db.execute(stmt)).first()
    label = cmd.event.text.strip()
    if found is None:
        await attachments.keep(db, cmd.event, cmd.user, kind=kind, label=label)
        return [
            Reply(
                f"收到{noun}，已保存，会记在你的下一条跟进上。{noun}也可作任务卡的完成凭证："
                "先发「完成 <编号>」，再发过来。"
            )
        ]
    task, customer = found
    await attachments.keep(db, cmd.event, cmd.user, kind=kind, label=label, task_id=task.id)
    evidence = f"（{noun}凭证{'：' + label if label else ''}）"
    return await finish(
        db, ctx, task, customer, by=cmd.user, evidence=evidence, media_id=cmd.event.media_id
    )


async def finish(
    db: AsyncSession,
    ctx: Context,
    task: Task,
    customer: Customer,
    *,
    by: User,
    evidence: str,
    media_id: str | None,
) -> list[Outgoing]:
    """Done with evidence: the stall clock restarts, the health score moves, warnings resolve."""
    now = ctx.clock.now()
    before = task.status
    task.status = TaskStatus.DONE
    task.done_at = now
    task.accepted_at = task.accepted_at or now
    task.evidence = evidence
    task.evidence_media_id = media_id
    task.last_activity_at = now
    customer.last_evidence_at = now
    outcome = health.Outcome.ON_TIME if now <= task.due_at else health.Outcome.LATE
    old_score = customer.health_score
    score = health.apply_outcome(
        db, customer, task, outcome, rules=ctx.rules, now=now, actor_id=by.id
    )
    audit.record(
        db,
        at=now,
        actor_id=by.id,
        action="task_done",
        entity="task",
        entity_id=task.id,
        before={"status": before},
        after={"status": task.status, "evidence": evidence},
    )
    await _resolve_task_alerts(db, task, now=now)
    await db.flush()
    label = health.OUTCOME_LABEL[outcome]
    out: list[Outgoing] = [
        Reply(
            f"已完成任务卡 #{task.id}：{task.title}（{customer.name}），{label}。"
            f"客户健康分 {old_score} → {score}"
        )
    ]
    findings = await find_low_health(db, ctx, now=now, customer_ids=[customer.id])
    if findings:
        directory = await Directory.load(db)
        raised, notices = await raise_findings(db, ctx, findings, directory=directory, now=now)
        out += result_of(raised, notices).pushes
    return out


async def _task_for(cmd: Command, db: AsyncSession, *, example: str) -> tuple[Task, Customer]:
    words = cmd.rest.split(maxsplit=1)
    match = _NUMBER.match(words[0]) if words else None
    if match is None:
        raise UserError("请写上任务卡编号", example=example)
    task_id = parse_id(match.group(1))  # past 32 bits: no such card, not an overflow
    task = await db.get(Task, task_id) if task_id is not None else None
    if task is None:
        raise UserError(f"没有编号为 #{match.group(1)} 的任务卡（发「任务」查看）", example=example)
    customer = await db.get_one(Customer, task.customer_id)
    if not owns(cmd.user, task.assignee_id):
        raise NotAllowed(f"任务卡 #{task.id} 不是你的：{refusal_for(Access.ACT, '任务卡')}")
    return task, customer


async def _resolve_task_alerts(db: AsyncSession, task: Task, *, now: datetime) -> None:
    """The scan would resolve them too; doing it now keeps 为什么 and the digest current."""
    condition = and_(Alert.subject_type == Subject.TASK, Alert.subject_id == task.id)
    if task.status == TaskStatus.ACCEPTED:
        condition = and_(condition, Alert.rule == Rule.TASK_ACCEPT)
    await alerts.resolve_where(db, condition, now=now)
