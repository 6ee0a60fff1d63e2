"""One customer on one timeline: follow-ups, stage moves, commitments, tasks, warnings, payments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Alert,
    AuditEntry,
    Commitment,
    Customer,
    CustomerEvent,
    Followup,
    StageChange,
    Task,
    User,
)

TIMELINE_LIMIT = 300  # newest first; a customer with more shows the latest and says so

EVENT_LABELS = {
    "contract_signed": "签约",
    "delivery_done": "交付完成",
    "payment_received": "回款",
}
TASK_STATE = {
    "planned": "待推送",
    "pushed": "待接受",
    "accepted": "进行中",
    "done": "已完成",
    "missed": "已错过",
}
COMMITMENT_STATE = {"open": "未兑现", "kept": "已兑现", "cancelled": "已取消"}


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    kind: str  # followup | stage | commitment | task | alert | event
    title: str
    detail: str = ""
    who: str = ""
    voice_id: int | None = None  # a voice follow-up: its recording is /media/voice/<id>
    transcript: str | None = None
    level: str = ""  # alerts: yellow / red / ...


@dataclass(frozen=True, slots=True)
class CustomerPage:
    id: int
    name: str
    aliases: list[str]
    owner: str
    owner_id: int | None
    stage: str
    level: str
    health_score: int
    created_at: datetime
    timeline: list[Entry]
    truncated: bool
    health_history: list[tuple[datetime, int]] = field(default_factory=list)


async def customer_page(db: AsyncSession, customer: Customer, *, tz: ZoneInfo) -> CustomerPage:
    cid = customer.id
    names = await _user_names(db, cid)
    entries: list[Entry] = []
    followups = await db.execute(
        select(Followup)
        .where(Followup.customer_id == cid)
        .order_by(Followup.created_at.desc())
        .limit(TIMELINE_LIMIT)
    )
    for f in followups.scalars():
        voice = f.source == "voice"
        detail = f.summary or f.raw_text
        if f.next_action:
            detail += f"（下一步：{f.next_action}）"
        entries.append(
            Entry(
                f.created_at,
                "followup",
                "语音跟进" if voice else "跟进",
                detail,
                names.get(f.author_id, ""),
                f.id if voice else None,
                f.transcript if voice else None,
            )
        )
    for s in (
        await db.execute(select(StageChange).where(StageChange.customer_id == cid))
    ).scalars():
        title = (
            f"阶段 {s.from_stage} → {s.to_stage}" if s.from_stage else f"创建，阶段 {s.to_stage}"
        )
        entries.append(Entry(s.at, "stage", title, who=names.get(s.by_user_id or 0, "")))
    for c in (await db.execute(select(Commitment).where(Commitment.customer_id == cid))).scalars():
        state = COMMITMENT_STATE.get(c.status, c.status)
        detail = f"{c.what}，截止 {c.due_at.astimezone(tz):%Y-%m-%d %H:%M}，{state}"
        if c.evidence:
            detail += f"；依据：{c.evidence}"
        entries.append(
            Entry(c.created_at, "commitment", f"承诺 {c.code}", detail, names.get(c.owner_id, ""))
        )
    for t in (await db.execute(select(Task).where(Task.customer_id == cid))).scalars():
        entries.append(
            Entry(
                t.created_at,
                "task",
                f"任务：{t.title}",
                TASK_STATE.get(t.status, t.status),
                names.get(t.assignee_id or 0, ""),
            )
        )
    for a in (await db.execute(select(Alert).where(Alert.customer_id == cid))).scalars():
        entries.append(Entry(a.created_at, "alert", "预警", a.message, level=a.level))
    for e in (
        await db.execute(select(CustomerEvent).where(CustomerEvent.customer_id == cid))
    ).scalars():
        entries.append(
            Entry(
                e.occurred_at,
                "event",
                EVENT_LABELS.get(e.kind, e.kind),
                _money(e.amount_yuan),
                names.get(e.by_user_id or 0, ""),
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    owner = names.get(customer.owner_id or 0, "")
    return CustomerPage(
        id=cid,
        name=customer.name,
        aliases=list(customer.aliases or []),
        owner=owner,
        owner_id=customer.owner_id,
        stage=customer.stage,
        level=customer.level,
        health_score=customer.health_score,
        created_at=customer.created_at,
        timeline=entries[:TIMELINE_LIMIT],
        truncated=len(entries) > TIMELINE_LIMIT,
        health_history=await _health_history(db, customer),
    )


async def _health_history(db: AsyncSession, customer: Customer) -> list[tuple[datetime, int]]:
    stmt = (
        select(AuditEntry.at, AuditEntry.before, AuditEntry.after)
        .where(
            AuditEntry.entity == "customer",
            AuditEntry.entity_id == customer.id,
            AuditEntry.action == "health_changed",
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    changes = (await db.execute(stmt)).all()
    if not changes:
        return [(customer.created_at, customer.health_score)]
    first_before = (changes[0][1] or {}).get("health_score", customer.health_score)
    points = [(customer.created_at, int(first_before))]
    points += [(at, int((after or {}).get("health_score", 0))) for at, _b, after in changes]
    return points


async def _user_names(db: AsyncSession, customer_id: int) -> dict[int, str]:
    # Few people ever touch one customer, but read them in one query rather than per row.
    return dict((await db.execute(select(User.id, User.name))).all()) if customer_id else {}


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"¥{amount:,.2f}"
