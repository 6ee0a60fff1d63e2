"""Follow-ups: 跟进 <客户> <内容> and voice notes → a structured log, commitment, stage move."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import commitments
from handlers.chat import Outgoing, Reply
from handlers.commands import Command, split_args
from handlers.context import Context
from handlers.errors import UserError
from handlers.extraction import Extraction, format_log
from handlers.limits import check_note_length
from handlers.lookup import Candidate, find_customer, pick, visible_candidates
from handlers.stages import move_allowed, move_stage
from storage import audit
from storage.models import Customer, Followup, User

log = structlog.get_logger()

EXAMPLE = "跟进 启明科技 电话确认了试用安排，下周三前给反馈"
LOW_CONFIDENCE = 0.75


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
        summary=extraction.summary,
        contact=extraction.contact.value if extraction.contact else None,
        next_action=extraction.next_action.value if extraction.next_action else None,
        next_action_due_at=extraction.due.value.at if extraction.due else None,
        amount_yuan=extraction.amount_yuan.value if extraction.amount_yuan else None,
        extraction=extraction_record(extraction),
        asr=asr,
        source_message_id=f"{source}:{message_id}",
    )
    db.add(followup)
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
    log += await _commitment_from(db, ctx, user, customer, extraction, followup, message_id)
    log += _stage_from(db, ctx, user, customer, extraction)
    return [f"已记录跟进（{customer.name}）：", *log, hint], followup


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
) -> list[str]:
    if extraction.commitment is None:
        return []
    if extraction.due is None:
        return ["识别到承诺，但没有时间，未登记。请补登：承诺 客户 事项 时间"]
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
    return [f"已登记承诺 {commitment.code}（兑现后发「兑现 {commitment.code}」）"]


def _stage_from(
    db: AsyncSession, ctx: Context, user: User, customer: Customer, extraction: Extraction
) -> list[str]:
    if extraction.stage is None or extraction.stage.value == customer.stage:
        return []
    if extraction.stage.value not in ctx.rules.stage_names:
        return []  # an extractor built with other stage names: not a stage of this funnel
    target = extraction.stage.value
    if not move_allowed(ctx.rules, customer, target):
        return [
            f"提到阶段「{target}」，但从「{customer.stage}」不能直接改到「{target}」，阶段未变。"
            f"确需变更请发：阶段 {customer.name} {target}"
        ]
    move_stage(db, customer, target, by=user, now=ctx.clock.now())
    return [f"阶段已更新：{target}"]


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
