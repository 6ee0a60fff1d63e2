"""Commitments: register a promise to a customer (承诺), close it (兑现), list the open ones."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import undo
from handlers.alert_ending import end_alerts
from handlers.chat import Outgoing, Reply
from handlers.codes import next_code
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.errors import NotAllowed, UserError
from handlers.extraction import CustomerRef, Due, parse_due
from handlers.lookup import find_customer, visible_candidates
from handlers.permissions import Access, owns, refusal_for
from handlers.timefmt import format_local
from storage import audit
from storage.models import Commitment, CommitmentStatus, Customer, UndoableChange, User

EXAMPLE = "承诺 启明科技 发正式报价 下周三17:00 依据 3月5日会议纪要"
EVIDENCE_WORDS = ("依据", "evidence")


async def register_commitment(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """承诺 <客户> <事项> <时间> [依据 <…>]: record the promise and answer with its code."""
    if not cmd.rest:
        return await list_commitments(cmd, db, ctx)
    body, evidence = _split_evidence(cmd.rest)
    args = split_args(body, 1)
    joined = await _customer_written_together(db, ctx, cmd, body) if len(args) < 2 else None
    if joined is not None:  # 承诺 启明下周三前发报价: the name runs into the item
        customer, rest = joined
    elif len(args) < 2:
        raise UserError("承诺需要客户、事项和时间", example=EXAMPLE)
    else:
        customer = await find_customer(db, args[0], user=cmd.user, example=EXAMPLE)
        rest = args[1]
    what, due = await _what_and_when(rest, customer, ctx)
    now = ctx.clock.now()
    if due.at <= now:
        raise UserError("承诺时间已经过去了", example=EXAMPLE)
    commitment = await create(
        db,
        ctx,
        owner=cmd.user,
        customer=customer,
        what=what,
        due_at=due.at,
        evidence=evidence,
        source_message_id=f"commit:{cmd.event.message_id}",
    )
    undo.remember(
        db,
        user=cmd.user,
        kind="commitment",
        entity_id=commitment.id,
        summary=f"承诺 {commitment.code}（{customer.name} — {what}）",
        now=now,
    )
    return [
        Reply(
            f"已登记承诺 {commitment.code}：{customer.name} — {what}，"
            f"截止 {format_local(due.at, ctx.tz)}{_assumed(due, ctx)}。"
            f"兑现后发「兑现 {commitment.code}」"
        )
    ]


def _split_evidence(text: str) -> tuple[str, str | None]:
    for word in EVIDENCE_WORDS:
        head, sep, tail = text.partition(f" {word}")
        if sep and tail.strip():
            return head.strip(), tail.strip(" ：:")
    return text, None


async def _customer_written_together(
    db: AsyncSession, ctx: Context, cmd: Command, body: str
) -> tuple[Customer, str] | None:
    """The customer the extractor finds at the start of a one-word body, and what follows."""
    candidates = await visible_candidates(db, cmd.user)
    extraction = await ctx.extractor.extract(
        body, now=ctx.clock.now(), tz=ctx.tz, customers=[c.ref() for c in candidates]
    )
    found = extraction.customer
    if found is None or found.span is None or found.span[0] != 0 or found.confidence < 0.75:
        return None
    rest = extraction.text[found.span[1] :].strip()
    return (await db.get_one(Customer, found.value.id), rest) if rest else None


async def _what_and_when(text: str, customer: Customer, ctx: Context) -> tuple[str, Due]:
    """The item and the time in any order (下周三前发报价 / 报价 12月10日上午), by the extractor."""
    ref = CustomerRef(customer.id, customer.name, tuple(customer.aliases or ()))
    extraction = await ctx.extractor.extract(text, now=ctx.clock.now(), tz=ctx.tz, customers=[ref])
    due = (
        extraction.due.value if extraction.due else parse_due(text, now=ctx.clock.now(), tz=ctx.tz)
    )
    if due is None:
        raise UserError("没看懂承诺的时间", example=EXAMPLE)
    what = extraction.commitment.value if extraction.commitment else None
    what = what or (extraction.next_action.value if extraction.next_action else None)
    if not what or len(what) < 2:
        what = _without_time(text, due.text)
    if len(what) < 2:
        raise UserError("请写上承诺的事项", example=EXAMPLE)
    return what, due


def _without_time(text: str, said: str) -> str:
    rest = text.replace(said, " ", 1) if said else text
    rest = re.sub(r"^\s*(?:之前|以前|前|以内|内)", "", rest)
    return re.sub(r"\s+", " ", rest).strip(" ，,。.；;:：、")


def _assumed(due: Due, ctx: Context) -> str:
    """A day (or part of one) said without a clock time: say which time it was taken as."""
    if due.has_time:
        return ""
    clock = f"{due.at.astimezone(ctx.tz):%H:%M}"
    said = f"「{due.part}」" if due.part else "只写了日期"
    return f"（{said}未写具体时间，按 {clock} 计；要改时间请重新登记并写上几点）"


async def create(
    db: AsyncSession,
    ctx: Context,
    *,
    owner: User,
    customer: Customer,
    what: str,
    due_at: datetime,
    evidence: str | None,
    source_message_id: str,
    followup_id: int | None = None,
) -> Commitment:
    now = ctx.clock.now()
    code = await next_code(db, "C", now.astimezone(ctx.tz).date())
    commitment = Commitment(
        code=code,
        customer_id=customer.id,
        owner_id=owner.id,
        what=what,
        due_at=due_at,
        evidence=evidence,
        status=CommitmentStatus.OPEN,
        created_at=now,
        last_activity_at=now,
        followup_id=followup_id,
        source_message_id=source_message_id,
    )
    db.add(commitment)
    await db.flush()
    audit.record(
        db,
        at=now,
        actor_id=owner.id,
        action="commitment_registered",
        entity="commitment",
        entity_id=commitment.id,
        after={"code": code, "customer": customer.name, "what": what, "due_at": due_at},
    )
    return commitment


async def keep_commitment(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """兑现 <编号>: close a commitment as kept."""
    example = "兑现 C-20260305-001"
    code = cmd.rest.strip().upper()
    if not code:
        raise UserError("请写上承诺编号", example=example)
    commitment = (
        await db.execute(select(Commitment).where(Commitment.code == code))
    ).scalar_one_or_none()
    if commitment is None:
        raise UserError(f"没有编号为 {code} 的承诺", example=example)
    customer = await db.get_one(Customer, commitment.customer_id)
    if not owns(cmd.user, commitment.owner_id):
        raise NotAllowed(f"承诺 {code} 不是你的：{refusal_for(Access.ACT, '兑现承诺')}")
    if commitment.status != CommitmentStatus.OPEN:
        raise UserError(
            f"承诺 {code} 已经是「{_status_label(commitment.status)}」状态", example=example
        )
    now = ctx.clock.now()
    commitment.status = CommitmentStatus.KEPT
    commitment.kept_at = now
    commitment.last_activity_at = now
    customer.last_evidence_at = now
    audit.record(
        db,
        at=now,
        actor_id=cmd.user.id,
        action="commitment_kept",
        entity="commitment",
        entity_id=commitment.id,
        before={"status": CommitmentStatus.OPEN},
        after={"status": CommitmentStatus.KEPT},
    )
    late = "（已逾期兑现）" if now > commitment.due_at else ""
    return [Reply(f"承诺 {code} 已兑现{late}：{customer.name} — {commitment.what}")]


async def list_commitments(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """我的承诺: open commitments, soonest first."""
    stmt = (
        select(Commitment, Customer.name)
        .join(Customer, Customer.id == Commitment.customer_id)
        .where(Commitment.owner_id == cmd.user.id, Commitment.status == CommitmentStatus.OPEN)
        .order_by(Commitment.due_at)
    )
    rows = (await db.execute(stmt)).all()
    if not rows:
        return [Reply(f"你没有未兑现的承诺。登记承诺：{EXAMPLE}")]
    now = ctx.clock.now()
    lines = [f"未兑现的承诺（{len(rows)}）："]
    for commitment, name in rows:
        flag = "🔴逾期 " if commitment.due_at < now else ""
        lines.append(
            f"{flag}{commitment.code} {name}：{commitment.what}，截止 "
            f"{format_local(commitment.due_at, ctx.tz)}"
        )
    return [Reply("\n".join(lines))]


def _status_label(status: str) -> str:
    return {"kept": "已兑现", "cancelled": "已取消", "open": "未兑现"}.get(status, status)


async def cancel(db: AsyncSession, ctx: Context, commitment: Commitment, *, by: User) -> None:
    """Taken back (撤销): cancelled, not deleted — its code stays used; its warnings end."""
    now = ctx.clock.now()
    before = commitment.status
    commitment.status = CommitmentStatus.CANCELLED
    commitment.last_activity_at = now
    await end_alerts(db, "commitment", [commitment.id], now=now)
    audit.record(
        db,
        at=now,
        actor_id=by.id,
        action="commitment_cancelled",
        entity="commitment",
        entity_id=commitment.id,
        before={"status": before},
        after={"status": CommitmentStatus.CANCELLED},
    )


async def _undo_commitment(
    db: AsyncSession, ctx: Context, user: User, change: UndoableChange
) -> str:
    commitment = await db.get(Commitment, change.entity_id)
    if commitment is not None and commitment.status == CommitmentStatus.KEPT:
        raise UserError(f"{change.summary} 已兑现，不能撤销", example="我的承诺")
    if commitment is not None and commitment.status == CommitmentStatus.OPEN:
        await cancel(db, ctx, commitment, by=user)
    return change.summary


undo.register("commitment", _undo_commitment)
