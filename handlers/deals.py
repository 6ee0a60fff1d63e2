"""Deal events that start SOP tasks: 签约 (signed), 交付 (delivered), 回款 (payment)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import sop, undo
from handlers.alert_ending import end_alerts
from handlers.chat import Outgoing, Reply
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.errors import UserError
from handlers.extraction import parse_due
from handlers.extraction.amounts import parse_amount
from handlers.lookup import find_customer
from handlers.numbers import parse_int
from handlers.stages import move_allowed, move_stage, revert_move
from storage import audit
from storage.models import Customer, CustomerEvent, EventKind, Task, UndoableChange, User

SIGN_EXAMPLE = "签约 启明科技 到期 2027-03-31 账期 60"
DELIVER_EXAMPLE = "交付 启明科技"
PAY_EXAMPLE = "回款 启明科技 12.5万"
WON_STAGE = "成交"


async def record_signed(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """签约 <客户> 到期 <日期> [账期 <天>]"""
    text = cmd.rest
    head, has_expiry, tail = text.partition("到期")
    if not has_expiry:
        raise UserError("签约需要写合同到期日", example=SIGN_EXAMPLE)
    expiry_text, _, term_text = tail.partition("账期")
    customer = await find_customer(db, head.strip(), user=cmd.user, example=SIGN_EXAMPLE)
    expires_on = _parse_date(expiry_text.strip(), ctx)
    term_days = _parse_days(term_text) if term_text.strip() else None
    if expires_on <= ctx.clock.now().astimezone(ctx.tz).date():
        raise UserError("合同到期日应在今天之后", example=SIGN_EXAMPLE)
    event = await _record(
        db,
        ctx,
        cmd,
        customer,
        EventKind.CONTRACT_SIGNED,
        contract_expires_on=expires_on,
        payment_term_days=term_days,
    )
    lines = [
        f"已记录签约：{customer.name}，合同到期 {expires_on:%Y-%m-%d}"
        + (f"，账期 {term_days} 天" if term_days else "")
    ]
    stage = None
    if customer.stage != WON_STAGE and move_allowed(ctx.rules, customer, WON_STAGE):
        stage = move_stage(db, customer, WON_STAGE, by=cmd.user, now=ctx.clock.now())
        lines.append(f"阶段已更新：{WON_STAGE}")
    lines += await sop.create_tasks_for(db, ctx, customer=customer, event=event)
    _remember(db, ctx, cmd, event, f"签约（{customer.name}）", stage)
    return [Reply("\n".join(lines))]


async def record_delivered(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """交付 <客户>"""
    if not cmd.rest:
        raise UserError("请写上交付的客户", example=DELIVER_EXAMPLE)
    customer = await find_customer(db, cmd.rest, user=cmd.user, example=DELIVER_EXAMPLE)
    event = await _record(db, ctx, cmd, customer, EventKind.DELIVERY_DONE)
    lines = [f"已记录交付：{customer.name}"]
    lines += await sop.create_tasks_for(db, ctx, customer=customer, event=event)
    _remember(db, ctx, cmd, event, f"交付（{customer.name}）")
    return [Reply("\n".join(lines))]


async def record_payment(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """回款 <客户> <金额>"""
    args = split_args(cmd.rest)
    if len(args) < 2:
        raise UserError("回款需要客户和金额", example=PAY_EXAMPLE)
    amount = parse_amount(args[-1])
    if amount is None or amount <= 0:
        raise UserError(f"没看懂金额「{args[-1]}」", example=PAY_EXAMPLE)
    customer = await find_customer(db, " ".join(args[:-1]), user=cmd.user, example=PAY_EXAMPLE)
    event = await _record(db, ctx, cmd, customer, EventKind.PAYMENT_RECEIVED, amount_yuan=amount)
    lines = [f"已记录回款：{customer.name} {amount:,.2f} 元"]
    lines += await sop.create_tasks_for(db, ctx, customer=customer, event=event)
    _remember(db, ctx, cmd, event, f"回款（{customer.name} {amount:,.2f} 元）")
    return [Reply("\n".join(lines))]


async def _record(
    db: AsyncSession,
    ctx: Context,
    cmd: Command,
    customer: Customer,
    kind: EventKind,
    **fields: object,
) -> CustomerEvent:
    now = ctx.clock.now()
    event = CustomerEvent(
        customer_id=customer.id,
        kind=kind,
        occurred_at=now,
        by_user_id=cmd.user.id,
        source_message_id=f"{kind}:{cmd.event.message_id}",
        **fields,
    )
    db.add(event)
    customer.last_evidence_at = now
    await db.flush()
    audit.record(
        db,
        at=now,
        actor_id=cmd.user.id,
        action=f"event_{kind}",
        entity="customer",
        entity_id=customer.id,
        after={"kind": kind, **fields},
    )
    return event


def _remember(
    db: AsyncSession,
    ctx: Context,
    cmd: Command,
    event: CustomerEvent,
    summary: str,
    stage: dict[str, Any] | None = None,
) -> None:
    undo.remember(
        db,
        user=cmd.user,
        kind="event",
        entity_id=event.id,
        summary=summary,
        now=ctx.clock.now(),
        data={"stage": stage, "evidence_at": None},
    )


async def _undo_event(db: AsyncSession, ctx: Context, user: User, change: UndoableChange) -> str:
    """The event goes, with the SOP task cards it created and the stage move it made."""
    now = ctx.clock.now()
    event = await db.get(CustomerEvent, change.entity_id)
    if event is None:
        return change.summary
    tasks = list(
        (await db.execute(select(Task).where(Task.trigger_event_id == event.id))).scalars()
    )
    await end_alerts(db, "task", [t.id for t in tasks], now=now)
    for task in tasks:
        await db.delete(task)
    await db.flush()
    parts = [change.summary]
    if tasks:
        parts.append(f"及其 {len(tasks)} 张任务卡（{'、'.join(f'#{t.id}' for t in tasks)}）")
    stage = (change.data or {}).get("stage")
    if stage and await revert_move(db, stage, by=user, now=now):
        parts.append(f"阶段回到「{stage['from']}」")
    audit.record(
        db,
        at=now,
        actor_id=user.id,
        action=f"event_{event.kind}_undone",
        entity="customer",
        entity_id=event.customer_id,
        before={"event": event.id, "kind": event.kind, "tasks": [t.id for t in tasks]},
    )
    await db.delete(event)
    return "，".join(parts)


undo.register("event", _undo_event)


def _parse_date(text: str, ctx: Context) -> date:
    due = parse_due(text, now=ctx.clock.now(), tz=ctx.tz)
    if due is None:
        raise UserError(f"没看懂日期「{text}」", example=SIGN_EXAMPLE)
    return due.at.astimezone(ctx.tz).date()


def _parse_days(text: str) -> int:
    days = parse_int(text.strip().removesuffix("天"), low=1, high=365)
    if days is None:
        raise UserError(
            f"账期应是 1–365 之间的天数，而不是「{text.strip()}」", example=SIGN_EXAMPLE
        )
    return days
