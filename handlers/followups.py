"""Follow-ups: 跟进 <客户> <内容> and voice notes → a structured log, commitment, stage move."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import attachments, commitments, undo
from handlers.chat import Outgoing, Reply
from handlers.commands import Command, split_args
from handlers.contacts import remember_contact
from handlers.context import Context
from handlers.errors import UserError
from handlers.extraction import Extraction, format_log
from handlers.leads.touch import touch_lead
from handlers.limits import check_note_length
from handlers.lookup import Candidate, find_customer, pick, visible_candidates
from handlers.stages import move_allowed, move_stage, revert_move, stages_reachable
from handlers.summaries import one_line_summary
from storage import audit
from storage.models import (
    Commitment,
    CommitmentStatus,
    Customer,
    Followup,
    UndoableChange,
    User,
)
from storage.voice_recordings import drop_recording

log = structlog.get_logger()

EXAMPLE = "跟进 启明科技 电话确认了试用安排，下周三前给反馈"
LOW_CONFIDENCE = 0.75
UNDO_HINT = "整条记错了发「撤销」"


async def log_followup(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """跟进 <客户> <内容>: the customer may also be named inside the note itself."""
    if not cmd.rest:
        raise UserError("请写上客户和跟进内容", example=EXAMPLE)
    candidates = await visible_candidates(db, cmd.user)
    first, rest = [*split_args(cmd.rest, 1), ""][:2]
    # A note typed without spaces is one long word: fuzzy matching would take it for a name.
    typed, _ = pick(first, candidates, fuzzy=bool(rest))
    if typed is not None and not rest:
        raise UserError(f"请写上和「{typed.name}」跟进了什么", example=EXAMPLE)
    extraction = await extract_for(ctx, cmd.rest, candidates)
    customer = await db.get_one(Customer, typed.id) if typed else None
    if customer is None and (
        extraction.customer is None or extraction.customer.confidence < LOW_CONFIDENCE
    ):
        # Not one of theirs by the first word nor by the note: someone else's (refused) or a typo.
        await find_customer(db, first, user=cmd.user, example=EXAMPLE)
    lines, _ = await record_note(
        db,
        ctx,
        user=cmd.user,
        text=cmd.rest,
        extraction=extraction,
        customer=customer,
        source="text",
        message_id=cmd.event.message_id,
    )
    return [Reply("\n".join(lines))]


async def extract_for(ctx: Context, text: str, candidates: list[Candidate]) -> Extraction:
    """The extractor's reading of a note, within the time budget (it runs off the event loop)."""
    check_note_length(text, ctx.max_note_chars)
    work = ctx.extractor.extract(
        text, now=ctx.clock.now(), tz=ctx.tz, customers=[c.ref() for c in candidates]
    )
    try:
        return await asyncio.wait_for(work, timeout=ctx.extract_budget_s)
    except TimeoutError:
        log.warning("extraction_over_budget", chars=len(text), budget_s=ctx.extract_budget_s)
        raise UserError(
            "这条记录太复杂，没能及时整理，没有保存。请写短一些再发", example=EXAMPLE
        ) from None


async def record_note(
    db: AsyncSession,
    ctx: Context,
    *,
    user: User,
    text: str,
    extraction: Extraction,
    customer: Customer | None,
    source: str,
    message_id: str,
    transcript: str | None = None,
    asr: dict[str, Any] | None = None,
) -> tuple[list[str], Followup]:
    """Store the follow-up (+ commitment, + stage move); the answer's lines: title, log, hint."""
    now = ctx.clock.now()
    if customer is None:
        customer = await _customer_from(db, extraction)
    followup = Followup(
        customer_id=customer.id,
        author_id=user.id,
        created_at=now,
        source=source,
        raw_text=text,
        transcript=transcript,
        summary=one_line_summary(extraction, ctx.tz),
        contact=extraction.contact.value if extraction.contact else None,
        next_action=extraction.next_action.value if extraction.next_action else None,
        next_action_due_at=extraction.due.value.at if extraction.due else None,
        amount_yuan=extraction.amount_yuan.value if extraction.amount_yuan else None,
        extraction=extraction_record(extraction),
        asr=asr,
        source_message_id=f"{source}:{message_id}",
    )
    if followup.contact:
        contact = await remember_contact(
            db, customer_id=customer.id, name=followup.contact, note=text, now=now
        )
        followup.contact_id = contact.id
    db.add(followup)
    await touch_lead(db, customer_id=customer.id, now=now)
    undo_data: dict[str, Any] = {
        "evidence_at": _iso(customer.last_evidence_at),
        "next_step_at": _iso(customer.next_step_due_at),
    }
    customer.last_evidence_at = now
    if followup.next_action_due_at is not None and followup.next_action_due_at > now:
        customer.next_step_due_at = followup.next_action_due_at
    await db.flush()
    audit.record(
        db,
        at=now,
        actor_id=user.id,
        action="followup_logged",
        entity="followup",
        entity_id=followup.id,
        after={"customer": customer.name, "source": source, "due": followup.next_action_due_at},
    )
    *log, hint = format_log(extraction, ctx.tz, now=now)  # its last line: how to correct (改 …)
    promise_lines, commitment = await _commitment_from(
        db, ctx, user, customer, extraction, followup, message_id
    )
    stage_lines, stage_data = _stage_from(db, ctx, user, customer, extraction)
    undo_data |= {"commitment_id": commitment.id if commitment else None, "stage": stage_data}
    undo.remember(
        db,
        user=user,
        kind="followup",
        entity_id=followup.id,
        summary=f"跟进（{customer.name}）「{followup.summary[:30]}」",
        now=now,
        data=undo_data,
    )
    log += promise_lines + stage_lines
    log += await attachments.onto_followup(
        db, user_id=user.id, followup_id=followup.id, now=now, tz=ctx.tz
    )
    return [f"已记录跟进（{customer.name}）：", *log, f"{hint}；{UNDO_HINT}"], followup


async def _customer_from(db: AsyncSession, extraction: Extraction) -> Customer:
    found = extraction.customer
    if found is None or found.confidence < LOW_CONFIDENCE:
        names = [c.name for c in extraction.customer_candidates]
        if found is not None and found.value.name not in names:
            names.insert(0, found.value.name)
        hint = f"（是不是「{'」「'.join(names[:3])}」？）" if names else ""
        raise UserError(f"没看出这条跟进是哪个客户的{hint}", example=EXAMPLE)
    return await db.get_one(Customer, found.value.id)


async def _commitment_from(
    db: AsyncSession,
    ctx: Context,
    user: User,
    customer: Customer,
    extraction: Extraction,
    followup: Followup,
    message_id: str,
) -> tuple[list[str], Commitment | None]:
    if extraction.commitment is None:
        return [], None
    if extraction.due is None:
        return [
            f"识别到承诺，但没有时间，未登记。请补登：承诺 {customer.name} "
            f"{extraction.commitment.value} 周五"
        ], None
    commitment = await commitments.create(
        db,
        ctx,
        owner=user,
        customer=customer,
        what=extraction.commitment.value,
        due_at=extraction.due.value.at,
        evidence=f"跟进记录：{followup.raw_text}",
        followup_id=followup.id,
        source_message_id=f"note:{message_id}",
    )
    return [f"已登记承诺 {commitment.code}（兑现后发「兑现 {commitment.code}」）"], commitment


def _stage_from(
    db: AsyncSession, ctx: Context, user: User, customer: Customer, extraction: Extraction
) -> tuple[list[str], dict[str, Any] | None]:
    if extraction.stage is None or extraction.stage.value == customer.stage:
        return [], None
    if extraction.stage.value not in ctx.rules.stage_names:
        return [], None  # an extractor built with other stage names: not a stage of this funnel
    target = extraction.stage.value
    if not move_allowed(ctx.rules, customer, target):
        reachable = stages_reachable(ctx.rules, customer.stage)
        fix = f"阶段 {customer.name} {reachable[0]}" if reachable else f"客户 {customer.name}"
        return [
            f"提到阶段「{target}」，但从「{customer.stage}」不能直接改到「{target}」，阶段未变"
            f"（往回改需主管）。查看或推进：{fix}"
        ], None
    before = customer.stage
    data = move_stage(db, customer, target, by=user, now=ctx.clock.now())
    return [f"阶段已更新：{target}（原为「{before}」）"], data


def extraction_record(extraction: Extraction) -> dict[str, Any]:
    """What was extracted, with spans and the engine, kept beside the follow-up."""

    def field(found: Any) -> dict[str, Any] | None:
        if found is None:
            return None
        value = found.value
        if hasattr(value, "at"):
            value = {"at": value.at.isoformat(), "has_time": value.has_time, "text": value.text}
        elif hasattr(value, "name"):
            value = value.name
        else:
            value = str(value)
        return {
            "value": value,
            "span": list(found.span) if found.span else None,
            "confidence": found.confidence,
        }

    return {
        "engine": extraction.engine,
        "customer": field(extraction.customer),
        "contact": field(extraction.contact),
        "next_action": field(extraction.next_action),
        "due": field(extraction.due),
        "commitment": field(extraction.commitment),
        "stage": field(extraction.stage),
        "amount_yuan": field(extraction.amount_yuan),
    }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _parsed(at: str | None) -> datetime | None:
    return datetime.fromisoformat(at) if at else None


async def _undo_followup(db: AsyncSession, ctx: Context, user: User, change: UndoableChange) -> str:
    """The note goes, with the commitment it registered and the stage it moved."""
    now = ctx.clock.now()
    data = change.data or {}
    followup = await db.get(Followup, change.entity_id)
    if followup is None:
        return change.summary
    customer = await db.get_one(Customer, followup.customer_id)
    parts = [change.summary]
    commitment_id = data.get("commitment_id")
    commitment = await db.get(Commitment, commitment_id) if commitment_id else None
    if commitment is not None and commitment.status == CommitmentStatus.OPEN:
        await commitments.cancel(db, ctx, commitment, by=user)
        parts.append(f"承诺 {commitment.code}")
    stage = data.get("stage")
    if stage and await revert_move(db, stage, by=user, now=now):
        parts.append(f"阶段回到「{stage['from']}」")
    if customer.last_evidence_at == now or customer.last_evidence_at == followup.created_at:
        customer.last_evidence_at = _parsed(data.get("evidence_at"))
    if customer.next_step_due_at == followup.next_action_due_at:
        customer.next_step_due_at = _parsed(data.get("next_step_at"))
    linked = await db.execute(select(Commitment).where(Commitment.followup_id == followup.id))
    for row in linked.scalars():
        row.followup_id = None
    await attachments.release(db, followup_id=followup.id)  # check-ins wait for the next one
    audit.record(
        db,
        at=now,
        actor_id=user.id,
        action="followup_undone",
        entity="followup",
        entity_id=followup.id,
        before={"customer": customer.name, "raw_text": followup.raw_text[:500]},
    )
    await drop_recording(db, followup.id)  # a voice note's kept audio goes with it
    await db.delete(followup)
    await db.flush()
    return "，".join(parts)


undo.register("followup", _undo_followup)
