"""改 <字段> <值>: correct the sender's latest follow-up without re-typing the note."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import undo
from handlers.chat import Outgoing, Reply
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.errors import UserError
from handlers.extraction import parse_due
from handlers.extraction.amounts import parse_amount
from handlers.lookup import find_customer
from handlers.permissions import is_manager_or_above
from handlers.stages import move_stage, revert_move, stages_reachable
from handlers.timefmt import format_local
from storage import audit
from storage.models import Commitment, CommitmentStatus, Customer, Followup

EXAMPLE = "改 时间 周五"
FIELDS = {
    "时间": "due",
    "截止": "due",
    "due": "due",
    "time": "due",
    "客户": "customer",
    "customer": "customer",
    "联系人": "contact",
    "contact": "contact",
    "事项": "action",
    "下一步": "action",
    "action": "action",
    "金额": "amount",
    "amount": "amount",
    "阶段": "stage",
    "stage": "stage",
}


async def correct_last(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    args = split_args(cmd.rest, 1)
    if len(args) < 2 or args[0].lower() not in FIELDS:
        raise UserError(
            "请写上要改的字段（时间、客户、联系人、事项、金额、阶段）和新值", example=EXAMPLE
        )
    field, value = FIELDS[args[0].lower()], args[1].strip()
    followup = (
        await db.execute(
            select(Followup)
            .where(Followup.author_id == cmd.user.id)
            .order_by(Followup.created_at.desc(), Followup.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if followup is None:
        raise UserError("你还没有可更正的跟进记录", example="跟进 启明科技 电话确认了试用安排")
    before = _snapshot(followup)
    shown = await _apply(db, ctx, cmd, followup, field, value)
    audit.record(
        db,
        at=ctx.clock.now(),
        actor_id=cmd.user.id,
        action="followup_corrected",
        entity="followup",
        entity_id=followup.id,
        before=before,
        after=_snapshot(followup),
    )
    return [Reply(f"已更正上一条跟进：{args[0]} → {shown}")]


async def _apply(
    db: AsyncSession, ctx: Context, cmd: Command, followup: Followup, field: str, value: str
) -> str:
    now = ctx.clock.now()
    if field == "due":
        due = parse_due(value, now=now, tz=ctx.tz)
        if due is None:
            raise UserError(f"没看懂时间「{value}」", example=EXAMPLE)
        followup.next_action_due_at = due.at
        customer = await db.get_one(Customer, followup.customer_id)
        if due.at > now:
            customer.next_step_due_at = due.at
        await _move_linked_commitment(db, followup, due.at)
        return format_local(due.at, ctx.tz, with_time=due.has_time)
    if field == "customer":
        customer = await find_customer(db, value, user=cmd.user, example="改 客户 宏达")
        followup.customer_id = customer.id
        customer.last_evidence_at = now
        await db.execute(
            update(Commitment)
            .where(Commitment.followup_id == followup.id)
            .values(customer_id=customer.id)
        )
        return customer.name
    if field == "contact":
        followup.contact = value
        return value
    if field == "action":
        followup.next_action = value
        return value
    if field == "amount":
        amount = parse_amount(value)
        if amount is None:
            raise UserError(f"没看懂金额「{value}」", example="改 金额 12.5万")
        followup.amount_yuan = amount
        return f"{amount:,.2f} 元"
    return await _correct_stage(db, ctx, cmd, followup, value)


async def _correct_stage(
    db: AsyncSession, ctx: Context, cmd: Command, followup: Followup, value: str
) -> str:
    """The note's stage, corrected: measured from where the customer was before the note."""
    now = ctx.clock.now()
    customer = await db.get_one(Customer, followup.customer_id)
    change = await undo.find_change(db, kind="followup", entity_id=followup.id)
    moved = (change.data or {}).get("stage") if change and change.undone_at is None else None
    if moved and customer.stage != moved["to"]:
        moved = None  # moved again since: correct from where it is now
    base = moved["from"] if moved else customer.stage
    allowed = ([base] if moved else []) + stages_reachable(ctx.rules, base)
    if value == customer.stage:
        return value
    if value not in allowed and not (
        is_manager_or_above(cmd.user) and value in ctx.rules.stage_names
    ):
        example = f"改 阶段 {allowed[0]}" if allowed else f"客户 {customer.name}"
        shown = "、".join(allowed) if allowed else "（已是终态，往回改需主管）"
        raise UserError(
            f"「{customer.name}」不能改到阶段「{value}」，可改为：{shown}", example=example
        )
    if moved:
        await revert_move(db, moved, by=cmd.user, now=now)
    data = move_stage(db, customer, value, by=cmd.user, now=now) if value != base else None
    if change is not None:
        change.data = {**(change.data or {}), "stage": data}
    return value


async def _move_linked_commitment(db: AsyncSession, followup: Followup, due_at: object) -> None:
    linked = (
        await db.execute(
            select(Commitment).where(
                Commitment.followup_id == followup.id, Commitment.status == CommitmentStatus.OPEN
            )
        )
    ).scalars()
    for commitment in linked:
        commitment.due_at = due_at  # type: ignore[assignment]


def _snapshot(followup: Followup) -> dict[str, object]:
    return {
        "customer_id": followup.customer_id,
        "contact": followup.contact,
        "next_action": followup.next_action,
        "next_action_due_at": followup.next_action_due_at,
        "amount_yuan": followup.amount_yuan,
    }
