"""Customers: create a lead (新客户), move its stage (阶段), list mine with their lights (我的)."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import undo
from handlers.chat import Outgoing, Push, RecipientKind, Reply
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.duplicates import find_duplicate
from handlers.errors import AuditedRefusal, UserError
from handlers.lookup import find_customer
from handlers.permissions import Access, customers_where, is_manager_or_above
from handlers.stages import move_allowed, move_stage, stages_reachable
from handlers.stall_clock import LIGHT_ICON, Light, stall_state
from storage import audit
from storage.models import Customer, Role, StageChange, User

LEAD_EXAMPLE = "新客户 杭州启明科技有限公司 A"
STAGE_EXAMPLE = "阶段 启明科技 方案"
LEVELS = ("A", "B", "C")
FORCE_WORD = "确认新建"


async def create_lead(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """新客户 <名称> [等级]"""
    force = FORCE_WORD in cmd.rest
    args = [a for a in split_args(cmd.rest.replace(FORCE_WORD, " ")) if a]
    if not args:
        raise UserError("请写上客户名称", example=LEAD_EXAMPLE)
    level = "B"
    if len(args) > 1 and args[-1].upper() in LEVELS:
        level = args.pop().upper()
    name = " ".join(args)
    if len(name) > 200:
        raise UserError("客户名称太长（最多 200 字）", example=LEAD_EXAMPLE)
    existing = (await db.execute(select(Customer).where(Customer.name == name))).scalar()
    if existing is not None:
        await _refuse_duplicate(db, ctx, cmd, name, existing, exact=True)
    now = ctx.clock.now()
    match = await find_duplicate(db, name)
    forced_over: str | None = None
    if match is not None:
        if not (force and is_manager_or_above(cmd.user)):
            await _refuse_duplicate(db, ctx, cmd, name, match.customer)
        forced_over = match.customer.name
    stage = ctx.rules.first_stage
    customer = Customer(
        name=name,
        aliases=[],
        owner_id=cmd.user.id,
        stage=stage,
        stage_entered_at=now,
        level=level,
        health_score=ctx.rules.health.start,
        created_at=now,
    )
    db.add(customer)
    await db.flush()
    db.add(
        StageChange(
            customer_id=customer.id, from_stage=None, to_stage=stage, at=now, by_user_id=cmd.user.id
        )
    )
    audit.record(
        db,
        at=now,
        actor_id=cmd.user.id,
        action="customer_created",
        entity="customer",
        entity_id=customer.id,
        after={"name": name, "level": level, "stage": stage},
        note=f"确认新建：与「{forced_over}」相近" if forced_over else None,
    )
    hours = ctx.rules.lead_touch_hours
    return [
        Reply(
            f"已创建线索「{name}」（{level} 级），负责人：{cmd.user.name}。"
            f"请在 {hours} 小时内完成首次跟进"
        )
    ]


async def _refuse_duplicate(
    db: AsyncSession,
    ctx: Context,
    cmd: Command,
    name: str,
    existing: Customer,
    *,
    exact: bool = False,
) -> NoReturn:
    """Said where the rep may know the owner (same team); elsewhere only that a colleague has it."""
    owner = await db.get(User, existing.owner_id) if existing.owner_id else None
    note = f"新客户「{name}」与已有客户「{existing.name}」重复"

    def refuse(problem: str, example: str) -> AuditedRefusal:
        return AuditedRefusal(
            problem,
            example=example,
            action="duplicate_refused",
            entity="customer",
            entity_id=existing.id,
            note=note,
        )

    manager = is_manager_or_above(cmd.user)
    force = f"；确需新建请发：新客户 {name} {FORCE_WORD}" if manager and not exact else ""
    if owner is not None and owner.id == cmd.user.id:
        raise refuse(
            f"客户「{existing.name}」已经存在，就在你名下，没有重复创建{force}",
            f"跟进 {existing.name} 电话沟通了需求",
        )
    if owner is not None and (owner.team_id == cmd.user.team_id or manager) and owner.team_id:
        raise refuse(
            f"客户「{existing.name}」已经存在，负责人：{owner.name}，没有重复创建。"
            f"需要协作请找 {owner.name} 或主管{force}",
            "我的",
        )
    raise refuse(
        f"「{name}」已有同事在跟进（撞单提醒），没有重复创建。如有疑问请联系主管{force}", "我的"
    )


async def change_stage(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """阶段 <客户> <阶段> [原因 <…>]: managers may move back or reopen 丢单, with a reason."""
    body, _, reason_text = cmd.rest.partition("原因")
    reason = reason_text.strip(" ：:") or None
    args = split_args(body)
    stages = "、".join(ctx.rules.stage_names)
    if len(args) < 2:
        raise UserError(f"请写上客户和阶段（{stages}）", example=STAGE_EXAMPLE)
    target = args[-1]
    customer = await find_customer(
        db, " ".join(args[:-1]), user=cmd.user, example=STAGE_EXAMPLE, access=Access.SUPERVISE
    )
    reachable = stages_reachable(ctx.rules, customer.stage)
    if target not in ctx.rules.stage_names:
        example = f"阶段 {customer.name} {reachable[0]}" if reachable else f"客户 {customer.name}"
        raise UserError(f"没有阶段「{target}」，可选：{stages}", example=example)
    if customer.stage == target:
        return [Reply(f"「{customer.name}」已经在「{target}」阶段")]
    supervising = is_manager_or_above(cmd.user)
    if not move_allowed(ctx.rules, customer, target) and not supervising:
        raise UserError(
            _refusal(customer, target, reachable, ctx),
            example=f"阶段 {customer.name} {reachable[0]}"
            if reachable
            else f"客户 {customer.name}",
        )
    backwards = not move_allowed(ctx.rules, customer, target)
    if backwards and reason is None:
        raise UserError(
            f"把「{customer.name}」从「{customer.stage}」改回「{target}」需要写原因",
            example=f"阶段 {customer.name} {target} 原因 客户重启采购",
        )
    before = customer.stage
    now = ctx.clock.now()
    data = move_stage(db, customer, target, by=cmd.user, now=now, reason=reason)
    summary = f"「{customer.name}」阶段：{before} → {target}"
    undo.remember(
        db, user=cmd.user, kind="stage", entity_id=customer.id, summary=summary, now=now, data=data
    )
    said = summary + (f"（原因：{reason}）" if reason else "")
    out: list[Outgoing] = [Reply(said)]
    if backwards:
        audit.record(
            db,
            at=now,
            actor_id=cmd.user.id,
            action="stage_reopened",
            entity="customer",
            entity_id=customer.id,
            before={"stage": before},
            after={"stage": target},
            note=reason,
        )
    if customer.owner_id is not None and customer.owner_id != cmd.user.id:
        # A supervisor's correction, forward or back (a reopen from 丢单): the owner is told.
        why = f"，原因：{reason}" if reason else ""
        told = (
            f"{cmd.user.name} 把你的客户「{customer.name}」从「{before}」改为「{target}」{why}。"
            f"查看：客户 {customer.name}"
        )
        out.append(Push(RecipientKind.USER, customer.owner_id, Reply(told)))
        out[0] = Reply(f"{said}（已通知负责人）")
    return out


def _refusal(customer: Customer, target: str, reachable: list[str], ctx: Context) -> str:
    if not reachable:
        return (
            f"「{customer.name}」已是「{customer.stage}」，阶段不能再改；"
            f"如需重开请主管发：阶段 {customer.name} {target} 原因 <…>"
        )
    return (
        f"「{customer.name}」不能从「{customer.stage}」改到「{target}」"
        f"（可改为：{'、'.join(reachable)}；往回改需主管）"
    )


async def list_mine(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """我的: my customers (a manager's: the team's) with their red/yellow/green state."""
    condition = (
        Customer.owner_id == cmd.user.id
        if Role(cmd.user.role) == Role.REP
        else customers_where(cmd.user, Access.SUPERVISE)
    )
    customers = (
        (await db.execute(select(Customer).where(condition).order_by(Customer.name)))
        .scalars()
        .all()
    )
    if not customers:
        return [Reply(f"你名下还没有客户。创建线索：{LEAD_EXAMPLE}")]
    now = ctx.clock.now()
    states = [(c, stall_state(c, ctx.rules, now=now, tz=ctx.tz)) for c in customers]
    order = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2}
    states.sort(key=lambda pair: (order[pair[1].light], -pair[1].elapsed_days))
    counts = {light: sum(1 for _, s in states if s.light == light) for light in Light}
    # A manager's list holds the team's customers too: the header says so.
    whose = "我的客户" if Role(cmd.user.role) == Role.REP else "我和团队的客户"
    lines = [
        f"{whose}（{len(states)}）：🔴{counts[Light.RED]} 🟡{counts[Light.YELLOW]} "
        f"🟢{counts[Light.GREEN]}"
    ]
    supervising = Role(cmd.user.role) != Role.REP
    owners = await _owner_names(db, [c.owner_id for c in customers]) if supervising else {}
    for customer, state in states[:30]:
        owner = f"｜{owners.get(customer.owner_id or 0, '无负责人')}" if supervising else ""
        lines.append(
            f"{LIGHT_ICON[state.light]} {customer.name}{owner}｜{customer.level}级｜"
            f"健康分 {customer.health_score}｜{state.explain(customer.stage)}"
        )
    if len(states) > 30:
        lines.append(f"……另有 {len(states) - 30} 个客户")
    return [Reply("\n".join(lines))]


async def _owner_names(db: AsyncSession, ids: list[int | None]) -> dict[int, str]:
    """A manager's list names each customer's owner."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {row[0]: row[1] for row in rows.all()}
