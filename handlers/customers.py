"""Customers: create a lead (新客户), move its stage (阶段), list mine with their lights (我的)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Outgoing, Reply
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.errors import UserError
from handlers.lookup import find_customer
from handlers.permissions import customers_visible_to
from handlers.stages import move_allowed, move_stage
from handlers.stall_clock import LIGHT_ICON, Light, stall_state
from storage import audit
from storage.models import Customer, Role, StageChange

LEAD_EXAMPLE = "新客户 杭州启明科技有限公司 A"
STAGE_EXAMPLE = "阶段 启明科技 方案"
LEVELS = ("A", "B", "C")


async def create_lead(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """新客户 <名称> [等级]"""
    args = split_args(cmd.rest)
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
        raise UserError(f"客户「{name}」已经存在", example=f"跟进 {name} 电话沟通了需求")
    now = ctx.clock.now()
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
    )
    hours = ctx.rules.lead_touch_hours
    return [
        Reply(
            f"已创建线索「{name}」（{level} 级），负责人：{cmd.user.name}。"
            f"请在 {hours} 小时内完成首次跟进"
        )
    ]


async def change_stage(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """阶段 <客户> <阶段>"""
    args = split_args(cmd.rest)
    stages = "、".join(ctx.rules.stage_names)
    if len(args) < 2:
        raise UserError(f"请写上客户和阶段（{stages}）", example=STAGE_EXAMPLE)
    target = args[-1]
    if target not in ctx.rules.stage_names:
        raise UserError(f"没有阶段「{target}」，可选：{stages}", example=STAGE_EXAMPLE)
    customer = await find_customer(db, " ".join(args[:-1]), user=cmd.user, example=STAGE_EXAMPLE)
    if customer.stage == target:
        return [Reply(f"「{customer.name}」已经在「{target}」阶段")]
    if not move_allowed(ctx.rules, customer, target):
        raise UserError(
            f"「{customer.name}」不能从「{customer.stage}」改到「{target}」（只能向前推进或改为"
            f"「{ctx.rules.lost_stage}」）",
            example=STAGE_EXAMPLE,
        )
    before = customer.stage
    move_stage(db, customer, target, by=cmd.user, now=ctx.clock.now())
    return [Reply(f"「{customer.name}」阶段：{before} → {target}")]


async def list_mine(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """我的: my customers (a manager's: the team's) with their red/yellow/green state."""
    condition = (
        Customer.owner_id == cmd.user.id
        if Role(cmd.user.role) == Role.REP
        else customers_visible_to(cmd.user)
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
    lines = [
        f"我的客户（{len(states)}）：🔴{counts[Light.RED]} 🟡{counts[Light.YELLOW]} "
        f"🟢{counts[Light.GREEN]}"
    ]
    for customer, state in states[:30]:
        lines.append(
            f"{LIGHT_ICON[state.light]} {customer.name}｜{customer.level}级｜"
            f"{state.explain(customer.stage)}"
        )
    if len(states) > 30:
        lines.append(f"……另有 {len(states) - 30} 个客户")
    return [Reply("\n".join(lines))]
