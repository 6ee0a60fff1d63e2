"""Deal events that start SOP tasks: 签约 (signed), 交付 (delivered), 回款 (payment)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
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
from handlers.money import contracts, steps
from handlers.money.plan import parse_parts
from handlers.money.undo_support import drop_plan_of, restore, snapshot
from handlers.numbers import parse_int
from handlers.stages import move_allowed, move_stage, revert_move
from storage import audit
from storage.models import (
    Customer,
    CustomerEvent,
    EventKind,
    Receivable,
    Task,
    UndoableChange,
    User,
)

SIGN_EXAMPLE = "签约 启明科技 到期 2027-03-31 账期 60"
PLAN_EXAMPLE = "签约 启明科技 金额 36万 到期 2027-12-31 分期 30%/签约 40%/验收 30%"
SIGN_KEYWORDS = ("金额", "到期", "分期", "账期")
DELIVER_EXAMPLE = "交付 启明科技"
PAY_EXAMPLE = "回款 启明科技 12.5万"
CONFIRM_WORDS = ("确认", "重复")
WON_STAGE = "成交"


async def record_signed(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """签约 <客户> [金额 <金额>] 到期 <日期> [分期 30%/签约 40%/验收 30%] [账期 <天>]"""
    head, parts = split_keywords(cmd.rest, SIGN_KEYWORDS)
    if "到期" not in parts:
        raise UserError("签约需要写合同到期日", example=SIGN_EXAMPLE)
    customer = await find_customer(db, head, user=cmd.user, example=SIGN_EXAMPLE)
    expires_on = _parse_date(parts["到期"], ctx)
    term_days = _parse_days(parts["账期"]) if parts.get("账期") else None
    if expires_on <= ctx.clock.now().astimezone(ctx.tz).date():
        raise UserError("合同到期日应在今天之后", example=SIGN_EXAMPLE)
    amount = _parse_contract_amount(parts["金额"]) if "金额" in parts else None
    plan = parse_parts(parts["分期"]) if parts.get("分期") else None
    if plan is not None and amount is None:
        raise UserError("写分期时也要写合同金额", example=PLAN_EXAMPLE)
    earlier = await contracts.signed_event(db, customer.id)
    if earlier is not None:
        lines = [
            f"已更新签约：{customer.name}，合同到期 {expires_on:%Y-%m-%d}"
            + (f"，账期 {term_days} 天" if term_days else "")
        ]
        lines += await contracts.resign(
            db, ctx, earlier, expires_on=expires_on, term_days=term_days, by=cmd.user
        )
        event = earlier
    else:
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
    if amount is not None:
        lines += await contracts.save_plan(
            db,
            ctx,
            customer,
            event,
            amount_yuan=amount,
            parts=plan,
            expires_on=expires_on,
            term_days=term_days,
            by=cmd.user,
        )
    stage = None
    if customer.stage != WON_STAGE and move_allowed(ctx.rules, customer, WON_STAGE):
        stage = move_stage(db, customer, WON_STAGE, by=cmd.user, now=ctx.clock.now())
        lines.append(f"阶段已更新：{WON_STAGE}")
    if earlier is None:
        lines += await sop.create_tasks_for(db, ctx, customer=customer, event=event)
        _remember(db, ctx, cmd, event, f"签约（{customer.name}）", stage)
    return [Reply("\n".join(lines))]


def split_keywords(text: str, keywords: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """`启明 金额 36万 到期 2027-12-31` → ("启明", {"金额": "36万", "到期": "2027-12-31"})."""
    pieces = re.split("(" + "|".join(keywords) + ")", text)
    head, values = pieces[0].strip(), {}
    for word, value in zip(pieces[1::2], pieces[2::2], strict=True):
        if word in values:
            raise UserError(f"「{word}」写了两次", example=SIGN_EXAMPLE)
        values[word] = value.strip()
    return head, values


def _parse_contract_amount(text: str) -> Decimal:
    amount = parse_amount(text.strip())
    if amount is None or amount <= 0:
        raise UserError(
            f"合同金额应是大于 0 的金额，而不是「{text.strip()}」", example=PLAN_EXAMPLE
        )
    return amount


async def record_delivered(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """交付 <客户>"""
    if not cmd.rest:
        raise UserError("请写上交付的客户", example=DELIVER_EXAMPLE)
    customer = await find_customer(db, cmd.rest, user=cmd.user, example=DELIVER_EXAMPLE)
    event = await _record(db, ctx, cmd, customer, EventKind.DELIVERY_DONE)
    lines = [f"已记录交付：{customer.name}"]
    before = [snapshot(r) for r in await steps.open_receivables(db, customer.id)]
    signed = await contracts.signed_event(db, customer.id)
    lines += await contracts.date_delivery_parts(
        db,
        customer.id,
        delivered_on=ctx.clock.now().astimezone(ctx.tz).date(),
        term_days=signed.payment_term_days if signed else None,
    )
    lines += await sop.create_tasks_for(db, ctx, customer=customer, event=event)
    _remember(db, ctx, cmd, event, f"交付（{customer.name}）", receivables=before)
    return [Reply("\n".join(lines))]


async def record_payment(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """回款 <客户> <金额> [确认]: against the contract's plan when there is one."""
    args = split_args(cmd.rest)
    confirmed = bool(args) and args[-1] in CONFIRM_WORDS
    if confirmed:
        args = args[:-1]
    if len(args) < 2:
        raise UserError("回款需要客户和金额", example=PAY_EXAMPLE)
    amount = parse_amount(args[-1])
    if args[-1].lstrip().startswith(("-", "－", "负")) or amount == 0:
        raise UserError(f"回款金额应大于 0，而不是「{args[-1]}」", example=PAY_EXAMPLE)
    if amount is None or amount <= 0:
        raise UserError(f"没看懂金额「{args[-1]}」", example=PAY_EXAMPLE)
    customer = await find_customer(db, " ".join(args[:-1]), user=cmd.user, example=PAY_EXAMPLE)
    if not confirmed and await _same_payment_lately(db, ctx, customer.id, amount):
        return [
            Reply(
                f"24 小时内已记录过「{customer.name}」{amount:,.2f} 元的回款，这次没有记录。"
                f"如果确实又收到一笔同样金额，请发：回款 {customer.name} {args[-1]} 确认"
            )
        ]
    first = not await _paid_before(db, customer.id)
    event = await _record(db, ctx, cmd, customer, EventKind.PAYMENT_RECEIVED, amount_yuan=amount)
    lines = [f"已记录回款：{customer.name} {amount:,.2f} 元"]
    before = [snapshot(r) for r in await steps.open_receivables(db, customer.id)]
    plan_lines, allocations, still_open = await steps.record_paid(db, ctx, cmd, customer, amount)
    lines += plan_lines
    payment = None
    if allocations:
        payment = sop.PaymentStage(
            first=first,
            contract_id=allocations[0].receivable.contract_id,
            last_due_on=still_open[0].due_on if len(still_open) == 1 else None,
        )
    lines += await sop.create_tasks_for(db, ctx, customer=customer, event=event, payment=payment)
    _remember(
        db,
        ctx,
        cmd,
        event,
        f"回款（{customer.name} {amount:,.2f} 元）",
        receivables=before,
    )
    return [Reply("\n".join(lines))]


async def _same_payment_lately(
    db: AsyncSession, ctx: Context, customer_id: int, amount: Decimal
) -> bool:
    stmt = select(CustomerEvent.id).where(
        CustomerEvent.customer_id == customer_id,
        CustomerEvent.kind == EventKind.PAYMENT_RECEIVED,
        CustomerEvent.amount_yuan == amount,
        CustomerEvent.occurred_at >= ctx.clock.now() - timedelta(hours=24),
    )
    return (await db.execute(stmt.limit(1))).first() is not None


async def _paid_before(db: AsyncSession, customer_id: int) -> bool:
    stmt = select(Receivable.id).where(
        Receivable.customer_id == customer_id, Receivable.paid_yuan > 0
    )
    return (await db.execute(stmt.limit(1))).first() is not None


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
    receivables: list[dict[str, Any]] | None = None,
) -> None:
    """`receivables`: the plan's open parts before a 回款/交付 changed them (#17)."""
    undo.remember(
        db,
        user=cmd.user,
        kind="event",
        entity_id=event.id,
        summary=summary,
        now=ctx.clock.now(),
        data={"stage": stage, "evidence_at": None, "receivables": receivables or []},
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
    if await restore(db, (change.data or {}).get("receivables") or []):
        parts.append("回款计划已恢复")
    if event.kind == EventKind.CONTRACT_SIGNED and await drop_plan_of(db, event):
        parts.append("合同金额和回款计划已删除")
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
