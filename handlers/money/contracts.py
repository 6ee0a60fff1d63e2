"""签约: one contract per customer with its amount and plan; signing again updates both and moves
the SOP tasks the first signing planned instead of planning them twice."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import sop
from handlers.context import Context
from handlers.errors import UserError
from handlers.money.plan import (
    DEFAULT_TERM_DAYS,
    ON_DELIVERY,
    SIGN_EXAMPLE,
    PlannedPayment,
    build_plan,
)
from storage import audit
from storage.models import (
    Contract,
    Customer,
    CustomerEvent,
    EventKind,
    Receivable,
    ReceivableStep,
    Task,
    TaskStatus,
    User,
)

MOVABLE = (TaskStatus.PLANNED, TaskStatus.PUSHED, TaskStatus.ACCEPTED)


async def signed_event(db: AsyncSession, customer_id: int) -> CustomerEvent | None:
    stmt = (
        select(CustomerEvent)
        .where(
            CustomerEvent.customer_id == customer_id,
            CustomerEvent.kind == EventKind.CONTRACT_SIGNED,
        )
        .order_by(CustomerEvent.id.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def resign(
    db: AsyncSession,
    ctx: Context,
    event: CustomerEvent,
    *,
    expires_on: date,
    term_days: int | None,
    by: User,
) -> list[str]:
    """签约 again: the same event with the new dates; its open SOP tasks move to match."""
    before = {"expires_on": str(event.contract_expires_on), "term_days": event.payment_term_days}
    event.contract_expires_on, event.payment_term_days = expires_on, term_days
    await db.flush()
    planned = {p.dedupe_key: p for p in sop.plan_tasks(ctx.rules, ctx.tz, event)}
    tasks = (
        await db.execute(
            select(Task).where(Task.trigger_event_id == event.id, Task.status.in_(MOVABLE))
        )
    ).scalars()
    lines: list[str] = []
    for task in tasks:
        plan = planned.get(task.dedupe_key)
        if plan is None:  # the new terms have no such task (账期 dropped): a planned one goes
            if task.status == TaskStatus.PLANNED:
                lines.append(f"任务卡 #{task.id}「{task.title}」已取消（新合同条款没有这一项）")
                await db.delete(task)
            continue
        if task.status == TaskStatus.PLANNED:
            task.push_at, task.accept_by = plan.push_at, plan.accept_by
        task.due_at = plan.due_at
        lines.append(f"任务卡 #{task.id}「{task.title}」已改期")
    audit.record(
        db,
        at=ctx.clock.now(),
        actor_id=by.id,
        action="contract_updated",
        entity="customer",
        entity_id=event.customer_id,
        before=before,
        after={"expires_on": str(expires_on), "term_days": term_days},
    )
    return lines


async def save_plan(
    db: AsyncSession,
    ctx: Context,
    customer: Customer,
    event: CustomerEvent,
    *,
    amount_yuan: Decimal,
    parts: list[tuple[Decimal, str | None]] | None,
    expires_on: date,
    term_days: int | None,
    by: User,
) -> list[str]:
    """The contract row and its expected payments (replaced while nothing has been paid)."""
    now = ctx.clock.now()
    contract = (
        await db.execute(select(Contract).where(Contract.customer_id == customer.id))
    ).scalar_one_or_none()
    if contract is not None:
        paid = await db.execute(
            select(Receivable.id).where(
                Receivable.contract_id == contract.id, Receivable.paid_yuan > 0
            )
        )
        if paid.first() is not None:
            raise UserError(
                f"「{customer.name}」的合同已有回款，分期计划不能再改",
                example=f"回款 {customer.name} 10万",
            )
        await db.execute(delete(Receivable).where(Receivable.contract_id == contract.id))
        contract.amount_yuan, contract.expires_on, contract.updated_at = (
            amount_yuan,
            expires_on,
            now,
        )
        contract.event_id, contract.owner_id = event.id, customer.owner_id
    else:
        contract = Contract(
            customer_id=customer.id,
            owner_id=customer.owner_id,
            amount_yuan=amount_yuan,
            expires_on=expires_on,
            signed_at=now,
            updated_at=now,
            event_id=event.id,
        )
        db.add(contract)
    await db.flush()
    signed_on = now.astimezone(ctx.tz).date()
    plan = build_plan(
        amount_yuan=amount_yuan,
        parts=parts,
        signed_on=signed_on,
        expires_on=expires_on,
        term_days=term_days,
    )
    for part in plan:
        if part.due_on < signed_on:
            raise UserError(f"第 {part.seq} 期的日期在签约之前", example=SIGN_EXAMPLE)
        db.add(
            Receivable(
                contract_id=contract.id,
                customer_id=customer.id,
                owner_id=customer.owner_id,
                seq=part.seq,
                label=part.label,
                share_pct=part.share_pct,
                amount_yuan=part.amount_yuan,
                due_on=part.due_on,
                step=ReceivableStep.ARCHIVED,
                step_at=now,
                paid_yuan=Decimal(0),
                created_at=now,
            )
        )
    await db.flush()
    audit.record(
        db,
        at=now,
        actor_id=by.id,
        action="contract_plan",
        entity="customer",
        entity_id=customer.id,
        after={"amount": str(amount_yuan), "parts": [p.label for p in plan]},
    )
    return [f"合同金额 {amount_yuan:,.2f} 元，已归档；回款计划：", *map(plan_line, plan)]


def plan_line(part: PlannedPayment) -> str:
    share = f" {part.share_pct:g}%" if part.share_pct is not None else ""
    when = "交付后确定" if part.waits_for_delivery else f"{part.due_on:%Y-%m-%d}"
    return f"{part.seq}. {part.label}{share}：{part.amount_yuan:,.2f} 元，{when} 到期"


async def date_delivery_parts(
    db: AsyncSession, customer_id: int, *, delivered_on: date, term_days: int | None
) -> list[str]:
    """交付: the 验收/交付 parts of the plan fall due `term_days` (default 30) after today."""
    days = term_days if term_days is not None else DEFAULT_TERM_DAYS
    stmt = select(Receivable).where(
        Receivable.customer_id == customer_id, Receivable.step != ReceivableStep.PAID
    )
    lines = []
    for receivable in (await db.execute(stmt)).scalars():
        if any(word in receivable.label for word in ON_DELIVERY):
            receivable.due_on = delivered_on + timedelta(days=days)
            lines.append(f"{receivable.label}款 {receivable.due_on:%Y-%m-%d} 到期")
    return lines
