"""客户 <名称>: one customer on one page — owner, level, stage and days in it, health, the last
five follow-ups, open commitments and tasks, the current warning — each with its command."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import freetext
from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import UserError
from handlers.lookup import find_customer, pick, visible_candidates
from handlers.permissions import Access, is_manager_or_above
from handlers.stages import stages_reachable
from handlers.stall_clock import LIGHT_ICON, stall_state
from handlers.timefmt import format_local
from storage.models import (
    Alert,
    AlertStatus,
    Commitment,
    CommitmentStatus,
    Customer,
    Followup,
    Task,
    TaskStatus,
    User,
)

EXAMPLE = "客户 启明科技"
LAST_FOLLOWUPS = 5
OPEN_TASKS = (TaskStatus.PLANNED, TaskStatus.PUSHED, TaskStatus.ACCEPTED)
_NOTE_LIKE = re.compile(r"[，。,.；;！!？?\s]")


async def show_customer(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """客户 <名称>; a line that only starts with 客户 (客户说下周签) is a note, not this command."""
    name = cmd.rest.strip()
    if not name:
        raise UserError("请写上客户名称", example=EXAMPLE)
    # Managers and directors read every team's customers (handlers/permissions.py).
    named, _ = pick(name, await visible_candidates(db, cmd.user, Access.READ), fuzzy=False)
    if named is not None:
        customer = await db.get_one(Customer, named.id)
    elif len(name) > 12 or _NOTE_LIKE.search(name):
        note = Command(cmd.event, cmd.user, "", cmd.event.text.strip())
        return await freetext.handle(note, db, ctx)
    else:
        customer = await find_customer(db, name, user=cmd.user, example=EXAMPLE, access=Access.READ)
    return [Reply("\n".join(await card_lines(db, ctx, customer, reader=cmd.user)))]


async def card_lines(
    db: AsyncSession, ctx: Context, customer: Customer, *, reader: User
) -> list[str]:
    now = ctx.clock.now()
    owner = await db.get(User, customer.owner_id) if customer.owner_id else None
    state = stall_state(customer, ctx.rules, now=now, tz=ctx.tz)
    days = max(0, (now - customer.stage_entered_at).days)
    aliases = f"（{'、'.join(customer.aliases)}）" if customer.aliases else ""
    owner_name = owner.name if owner else "无"
    if owner is not None and owner.id == reader.id:
        owner_name += "（我）"
    health = customer.health_score
    low = "，偏低" if health < ctx.rules.health.escalate_below else ""
    lines = [
        f"【客户】{customer.name}{aliases}",
        f"负责人：{owner_name}｜等级：{customer.level}｜健康分：{health}{low}",
        f"阶段：{customer.stage}，已 {days} 天｜{LIGHT_ICON[state.light]} "
        f"{state.explain(customer.stage)}",
    ]
    reachable = stages_reachable(ctx.rules, customer.stage)
    if reachable:
        lines.append(f"　推进：阶段 {customer.name} {reachable[0]}")
    elif is_manager_or_above(reader):
        lines.append(f"　重开：阶段 {customer.name} {ctx.rules.first_stage} 原因 <…>")
    lines += await _followups(db, ctx, customer)
    lines += await _commitments(db, ctx, customer)
    lines += await _tasks(db, ctx, customer)
    lines += await _warning(db, customer)
    return lines


async def _followups(db: AsyncSession, ctx: Context, customer: Customer) -> list[str]:
    rows = (
        await db.execute(
            select(Followup)
            .where(Followup.customer_id == customer.id)
            .order_by(Followup.created_at.desc(), Followup.id.desc())
            .limit(LAST_FOLLOWUPS)
        )
    ).scalars()
    lines = []
    for note in rows:
        day = format_local(note.created_at, ctx.tz, with_time=False)
        summary = (note.summary or note.raw_text).replace("\n", " ")[:60]
        step = f"｜下一步：{note.next_action}" if note.next_action else ""
        if "下一步：" in summary:  # summaries built by handlers/summaries.py carry it already
            step = ""
        elif step and note.next_action_due_at is not None:
            step += f"（{format_local(note.next_action_due_at, ctx.tz, with_time=False)}）"
        lines.append(f"　{day} {summary}{step}")
    head = f"最近跟进（{len(lines)}）：" if lines else "还没有跟进记录。"
    return [head, *lines, f"　记一条：跟进 {customer.name} <内容>（或直接发跟进内容）"]


async def _commitments(db: AsyncSession, ctx: Context, customer: Customer) -> list[str]:
    rows = (
        await db.execute(
            select(Commitment)
            .where(
                Commitment.customer_id == customer.id,
                Commitment.status == CommitmentStatus.OPEN,
            )
            .order_by(Commitment.due_at)
        )
    ).scalars()
    now = ctx.clock.now()
    lines = [
        f"　{'🔴逾期 ' if c.due_at < now else ''}{c.code} {c.what}，截止 "
        f"{format_local(c.due_at, ctx.tz)} → 兑现 {c.code}"
        for c in rows
    ]
    return [f"未兑现承诺（{len(lines)}）：", *lines] if lines else ["未兑现承诺：无"]


async def _tasks(db: AsyncSession, ctx: Context, customer: Customer) -> list[str]:
    rows = (
        await db.execute(
            select(Task)
            .where(Task.customer_id == customer.id, Task.status.in_(OPEN_TASKS))
            .order_by(Task.due_at, Task.id)
        )
    ).scalars()
    lines = []
    for task in rows:
        if task.status == TaskStatus.PUSHED:
            act = f"接受 {task.id}"
        elif task.status == TaskStatus.ACCEPTED:
            act = f"完成 {task.id} <说明>"
        else:
            act = f"{format_local(task.push_at, ctx.tz)} 推送"
        lines.append(
            f"　#{task.id} {task.title}，{format_local(task.due_at, ctx.tz)} 前完成 → {act}"
        )
    return [f"未完成任务（{len(lines)}）：", *lines] if lines else ["未完成任务：无"]


async def _warning(db: AsyncSession, customer: Customer) -> list[str]:
    alert = (
        await db.execute(
            select(Alert)
            .where(Alert.customer_id == customer.id, Alert.status == AlertStatus.OPEN)
            .order_by(Alert.created_at.desc(), Alert.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if alert is None:
        return ["当前预警：无"]
    first = alert.message.splitlines()[0] if alert.message else alert.rule
    return [
        f"当前预警：A{alert.id} {first}",
        f"　原因：为什么 A{alert.id}｜推迟：稍后提醒 A{alert.id} 2小时",
    ]
