"""应收: open receivables with their aging (未到期, 1–30, 31–60, 61–90, > 90 days overdue)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.money.steps import STEP_NAMES
from handlers.permissions import customers_visible_to, is_manager_or_above
from storage.models import Customer, Receivable, ReceivableStep, User

BUCKETS = ("未到期", "1–30天", "31–60天", "61–90天", ">90天")
SHOWN = 20  # receivables listed one by one; the totals cover all


def bucket(due_on: date, today: date) -> str:
    late = (today - due_on).days
    if late <= 0:
        return BUCKETS[0]
    if late <= 30:
        return BUCKETS[1]
    if late <= 60:
        return BUCKETS[2]
    if late <= 90:
        return BUCKETS[3]
    return BUCKETS[4]


async def list_receivables(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """应收: mine (a manager: the team's), oldest overdue first, with the bucket totals."""
    stmt = (
        select(Receivable, Customer.name, User.name)
        .join(Customer, Customer.id == Receivable.customer_id)
        .outerjoin(User, User.id == Receivable.owner_id)
        .where(Receivable.step != ReceivableStep.PAID, customers_visible_to(cmd.user))
        .order_by(Receivable.due_on, Receivable.id)
    )
    rows = (await db.execute(stmt)).all()
    whose = "团队" if is_manager_or_above(cmd.user) else "我的"
    if not rows:
        return [Reply(f"{whose}应收：没有待回款的分期")]
    today = ctx.clock.now().astimezone(ctx.tz).date()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    lines: list[str] = []
    for receivable, customer, owner in rows:
        left = receivable.amount_yuan - receivable.paid_yuan
        age = bucket(receivable.due_on, today)
        totals[age] += left
        if len(lines) < SHOWN:
            late = (today - receivable.due_on).days
            when = f"逾期 {late} 天" if late > 0 else f"{receivable.due_on:%Y-%m-%d} 到期"
            who = f"（{owner}）" if whose == "团队" and owner else ""
            lines.append(
                f"· {customer}{who} 第{receivable.seq}期 {receivable.label} {left:,.2f} 元，"
                f"{when}，当前：{STEP_NAMES[ReceivableStep(receivable.step)]}"
            )
    total = sum(totals.values(), Decimal(0))
    summary = "　".join(f"{b} {totals.get(b, Decimal(0)):,.0f}" for b in BUCKETS)
    more = [f"…另有 {len(rows) - SHOWN} 笔"] if len(rows) > SHOWN else []
    head = f"{whose}应收 {total:,.2f} 元（{len(rows)} 笔）"
    return [Reply("\n".join([head, f"账龄：{summary}", *lines, *more]))]
