"""为什么 / why: a warning's rule, clock and evidence, and the timeline of its customer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting.messages import alert_title
from handlers.alerting.snooze import load_alert
from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import UserError
from handlers.lookup import find_customer
from handlers.permissions import Access
from handlers.timefmt import format_local
from storage.models import (
    Alert,
    AlertStatus,
    AuditEntry,
    Commitment,
    Customer,
    CustomerEvent,
    Followup,
    StageChange,
    Task,
)

EXAMPLE = "为什么 A12"
SHOWN = 10
NOTE_CHARS = 40
STATUS_LABEL = {
    AlertStatus.OPEN: "未处理",
    AlertStatus.RESOLVED: "已解除",
    AlertStatus.SNOOZED: "已推迟",
}
EVENT_LABEL = {"contract_signed": "签约", "delivery_done": "交付", "payment_received": "回款"}

Entry = tuple[datetime, str]


async def explain(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """为什么 <预警编号> (or a customer's name): why it fired, then what happened lately."""
    target = cmd.rest.strip()
    if not target:
        raise UserError("请写上预警编号", example=EXAMPLE)
    if (target[0] in "Aa" and target[1:].isdigit()) or target.isdigit():
        alert = await load_alert(cmd, db, target, example=EXAMPLE, access=Access.READ)
        lines = await _alert_lines(db, alert, ctx.tz)
        customer_id = alert.customer_id
    else:
        customer = await find_customer(
            db, target, user=cmd.user, example=EXAMPLE, access=Access.READ
        )
        lines, customer_id = [], customer.id
    if customer_id is not None:
        customer = await db.get_one(Customer, customer_id)
        entries = await customer_timeline(db, customer)
        lines.append(f"「{customer.name}」时间线（最近 {min(SHOWN, len(entries))} 条）：")
        lines += [f"{format_local(at, ctx.tz)} {text}" for at, text in entries[-SHOWN:]]
    return [Reply("\n".join(lines))]


async def _alert_lines(db: AsyncSession, alert: Alert, tz: ZoneInfo) -> list[str]:
    status = STATUS_LABEL.get(AlertStatus(alert.status), alert.status)
    lines = [
        f"预警 A{alert.id}｜{alert_title(alert.rule, alert.level)}｜{status}",
        f"触发于 {format_local(alert.created_at, tz)}",
        *alert.message.split("\n"),
    ]
    if alert.resolved_at is not None:
        lines.append(f"{format_local(alert.resolved_at, tz)} 原因消除，已自动解除")
    snoozes = await db.execute(
        select(AuditEntry.note)
        .where(
            AuditEntry.entity == "alert",
            AuditEntry.entity_id == alert.id,
            AuditEntry.action == "alert_snoozed",
        )
        .order_by(AuditEntry.at)
    )
    lines += [f"稍后提醒：{note}" for note in snoozes.scalars() if note]
    return lines


async def customer_timeline(db: AsyncSession, customer: Customer) -> list[Entry]:
    """Everything that happened to a customer, oldest first."""
    cid = customer.id
    entries: list[Entry] = [(customer.created_at, "创建客户")]
    for change in (
        await db.execute(select(StageChange).where(StageChange.customer_id == cid))
    ).scalars():
        if change.from_stage is not None:
            entries.append((change.at, f"阶段 {change.from_stage} → {change.to_stage}"))
    for note in (await db.execute(select(Followup).where(Followup.customer_id == cid))).scalars():
        text = (note.summary or note.raw_text).replace("\n", " ")[:NOTE_CHARS]
        entries.append((note.created_at, f"跟进：{text}"))
    for c in (await db.execute(select(Commitment).where(Commitment.customer_id == cid))).scalars():
        entries.append((c.created_at, f"登记承诺 {c.code}：{c.what}"))
        if c.kept_at is not None:
            entries.append((c.kept_at, f"兑现承诺 {c.code}"))
    for e in (
        await db.execute(select(CustomerEvent).where(CustomerEvent.customer_id == cid))
    ).scalars():
        extra = f"（合同到期 {e.contract_expires_on:%Y-%m-%d}）" if e.contract_expires_on else ""
        entries.append((e.occurred_at, f"{EVENT_LABEL.get(e.kind, e.kind)}{extra}"))
    for t in (await db.execute(select(Task).where(Task.customer_id == cid))).scalars():
        entries += _task_entries(t)
    for a in (await db.execute(select(Alert).where(Alert.customer_id == cid))).scalars():
        entries.append((a.created_at, f"预警 A{a.id} {alert_title(a.rule, a.level)}"))
        if a.resolved_at is not None:
            entries.append((a.resolved_at, f"预警 A{a.id} 已解除"))
    entries.sort(key=lambda entry: entry[0])
    return entries


def _task_entries(task: Task) -> list[Entry]:
    out: list[Entry] = []
    if task.pushed_at is not None:
        out.append((task.pushed_at, f"推送任务卡 #{task.id} {task.title}"))
    if task.accepted_at is not None:
        out.append((task.accepted_at, f"接受任务卡 #{task.id}"))
    if task.done_at is not None:
        out.append((task.done_at, f"完成任务卡 #{task.id}：{task.evidence or ''}".rstrip("：")))
    if task.status == "missed":
        out.append((task.last_activity_at, f"任务卡 #{task.id} 已错过"))
    return out
