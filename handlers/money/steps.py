"""Receivable steps from chat: 开票 (invoice sent), 签收 (receipt, with a photo), 回款 (paid)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import UserError
from handlers.lookup import find_customer
from handlers.money.undo_support import remember_step, snapshot
from storage import audit
from storage.models import Customer, Receivable, ReceivableStep

INVOICE_EXAMPLE = "开票 启明科技 快递 SF1234567890"
RECEIPT_EXAMPLE = "签收 启明科技（再发一张签收单照片）"
STEP_NAMES = {
    ReceivableStep.ARCHIVED: "合同归档",
    ReceivableStep.INVOICED: "发票寄出",
    ReceivableStep.ACKNOWLEDGED: "客户签收",
    ReceivableStep.PAID: "财务入账",
}
NEXT_STEP = {
    ReceivableStep.ARCHIVED: "开票 {name} 快递 <单号>",
    ReceivableStep.INVOICED: "签收 {name}（附签收单照片）",
    ReceivableStep.ACKNOWLEDGED: "回款 {name} <金额>",
}


@dataclass(frozen=True, slots=True)
class Allocation:
    receivable: Receivable
    amount_yuan: Decimal
    settled: bool  # this payment paid it in full


async def open_receivables(db: AsyncSession, customer_id: int) -> list[Receivable]:
    """The customer's expected payments not yet paid in full, earliest first."""
    stmt = (
        select(Receivable)
        .where(Receivable.customer_id == customer_id, Receivable.step != ReceivableStep.PAID)
        .order_by(Receivable.seq, Receivable.id)
    )
    return list((await db.execute(stmt)).scalars())


def describe(receivable: Receivable) -> str:
    left = receivable.amount_yuan - receivable.paid_yuan
    return f"第{receivable.seq}期（{receivable.label}）{left:,.2f} 元"


async def _current(
    db: AsyncSession, cmd: Command, text: str, example: str
) -> tuple[Customer, Receivable]:
    customer = await find_customer(db, text, user=cmd.user, example=example)
    receivables = await open_receivables(db, customer.id)
    if not receivables:
        raise UserError(
            f"「{customer.name}」没有待回款的分期（先签约并写金额）",
            example="签约 启明科技 金额 36万 到期 2027-12-31 分期 30%/签约 40%/验收 30%",
        )
    return customer, receivables[0]


def _move(receivable: Receivable, step: ReceivableStep, now: datetime) -> None:
    receivable.step, receivable.step_at = step, now


async def record_invoice(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """开票 <客户> [快递 <单号>]: the invoice of the current expected payment is sent."""
    name, _, evidence = cmd.rest.partition("快递")
    if not name.strip():
        raise UserError("请写上客户和快递单号", example=INVOICE_EXAMPLE)
    customer, receivable = await _current(db, cmd, name.strip(), INVOICE_EXAMPLE)
    ref = evidence.strip()
    if not ref:
        raise UserError("开票要附快递单号作凭证", example=INVOICE_EXAMPLE)
    now = ctx.clock.now()
    remember_step(
        db, user=cmd.user, before=snapshot(receivable), summary=f"开票（{customer.name}）", now=now
    )
    receivable.invoice_ref = f"快递 {ref}"[:200]
    if receivable.step == ReceivableStep.ARCHIVED:
        _move(receivable, ReceivableStep.INVOICED, now)
    else:
        receivable.step_at = now  # a second invoice (a correction) counts as activity
    _audit(db, cmd, receivable, "receivable_invoiced", now, ref=ref)
    return [
        Reply(
            f"已记录发票寄出：{customer.name} {describe(receivable)}，快递 {ref}。"
            f"客户收到后发「签收 {customer.name}」并附签收单照片"
        )
    ]


async def record_receipt(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """签收 <客户>: the customer signed for the invoice; the next image is the receipt."""
    if not cmd.rest:
        raise UserError("请写上签收的客户", example=RECEIPT_EXAMPLE)
    customer, receivable = await _current(db, cmd, cmd.rest, RECEIPT_EXAMPLE)
    if receivable.step == ReceivableStep.ARCHIVED:
        raise UserError(
            f"「{customer.name}」的发票还没寄出，先记录开票",
            example=f"开票 {customer.name} 快递 SF123",
        )
    now = ctx.clock.now()
    remember_step(
        db, user=cmd.user, before=snapshot(receivable), summary=f"签收（{customer.name}）", now=now
    )
    _move(receivable, ReceivableStep.ACKNOWLEDGED, now)
    receivable.receipt_asked_at = now
    _audit(db, cmd, receivable, "receivable_acknowledged", now)
    return [
        Reply(
            f"已记录客户签收：{customer.name} {describe(receivable)}。"
            "请发一张签收单照片作凭证；到账后发「回款 "
            f"{customer.name} <金额>」"
        )
    ]


async def attach_receipt(db: AsyncSession, cmd: Command, ctx: Context) -> list[Outgoing] | None:
    """An image after 签收: the receipt photo. None when no 签收 is waiting for one."""
    stmt = (
        select(Receivable, Customer.name)
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(
            Receivable.owner_id == cmd.user.id,
            Receivable.receipt_asked_at.is_not(None),
            Receivable.receipt_media_id.is_(None),
        )
        .order_by(Receivable.receipt_asked_at.desc())
        .limit(1)
    )
    found = (await db.execute(stmt)).first()
    if found is None:
        return None
    receivable, name = found
    receivable.receipt_media_id = cmd.event.media_id or ""
    receivable.step_at = ctx.clock.now()
    _audit(db, cmd, receivable, "receivable_receipt_photo", ctx.clock.now())
    return [Reply(f"已保存签收单照片：{name} {describe(receivable)}")]


def allocate(
    receivables: list[Receivable], amount_yuan: Decimal, now: datetime
) -> list[Allocation]:
    """A payment pays the earliest open expected payments first; a part paid in part stays open."""
    left = amount_yuan
    done: list[Allocation] = []
    for receivable in receivables:
        if left <= 0:
            break
        owed = receivable.amount_yuan - receivable.paid_yuan
        take = min(owed, left)
        receivable.paid_yuan += take
        left -= take
        settled = receivable.paid_yuan >= receivable.amount_yuan
        if settled:
            receivable.paid_at = now
            _move(receivable, ReceivableStep.PAID, now)
        else:
            receivable.step_at = now
        done.append(Allocation(receivable, take, settled))
    return done


async def record_paid(
    db: AsyncSession, ctx: Context, cmd: Command, customer: Customer, amount_yuan: Decimal
) -> tuple[list[str], list[Allocation], list[Receivable]]:
    """回款 against the plan: lines for the answer, what it paid, what stays open."""
    receivables = await open_receivables(db, customer.id)
    if not receivables:
        return [], [], []
    now = ctx.clock.now()
    allocations = allocate(receivables, amount_yuan, now)
    lines = []
    for item in allocations:
        state = (
            "已结清"
            if item.settled
            else f"还差 {item.receivable.amount_yuan - item.receivable.paid_yuan:,.2f} 元"
        )
        part = f"第{item.receivable.seq}期（{item.receivable.label}）"
        lines.append(f"计入{part}{item.amount_yuan:,.2f} 元，{state}")
        _audit(db, cmd, item.receivable, "receivable_paid", now, amount=str(item.amount_yuan))
    still_open = [r for r in receivables if r.step != ReceivableStep.PAID]
    allocated = sum((a.amount_yuan for a in allocations), Decimal(0))
    if allocated < amount_yuan:
        lines.append(f"超出计划 {amount_yuan - allocated:,.2f} 元，未计入任何分期")
    if still_open:
        lines.append(f"待回款：{describe(still_open[0])}，{still_open[0].due_on:%Y-%m-%d} 到期")
    else:
        lines.append("合同已全部回款 ✓")
    return lines, allocations, still_open


def _audit(
    db: AsyncSession, cmd: Command, receivable: Receivable, action: str, now: datetime, **after: str
) -> None:
    audit.record(
        db,
        at=now,
        actor_id=cmd.user.id,
        action=action,
        entity="receivable",
        entity_id=receivable.id,
        after={"step": receivable.step, "paid": str(receivable.paid_yuan), **after},
    )
