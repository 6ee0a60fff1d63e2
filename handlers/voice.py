"""Voice notes: a transcript becomes the same structured follow-up log, shown back as a card."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import freetext
from handlers.chat import Button, Card, CardUpdate, Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import UserError
from handlers.followups import LOW_CONFIDENCE, extract_for, record_note
from handlers.lookup import visible_candidates
from handlers.numbers import parse_id, parse_int
from storage.models import Followup, User

CONFIRMED = "已确认 ✓"


async def log_voice_note(
    db: AsyncSession,
    ctx: Context,
    *,
    user: User,
    transcript: str,
    message_id: str,
    asr: dict[str, Any],
) -> list[Outgoing]:
    """Extract and store the follow-up; answer with a card to confirm or correct it."""
    if not transcript.strip():
        return [Reply("没听清这条语音（没有识别到说话内容），请再说一遍或直接打字。")]
    candidates = await visible_candidates(db, user)
    extraction = await extract_for(ctx, transcript, candidates)
    try:
        lines, followup = await record_note(
            db,
            ctx,
            user=user,
            text=transcript,
            extraction=extraction,
            customer=None,
            source="voice",
            message_id=message_id,
            transcript=transcript,
            asr=asr,
        )
    except UserError as err:
        if extraction.customer is None or extraction.customer.confidence < LOW_CONFIDENCE:
            # No customer heard: ask, as for a typed note; the tap completes it.
            return await freetext.ask_for_customer(
                db,
                ctx,
                user,
                text=transcript,
                message_id=message_id,
                extraction=extraction,
                candidates=candidates,
                as_text=False,
                voice=True,
            )
        return [Reply(f"{err.problem}。我听到的是：「{transcript}」。请发：跟进 <客户> <内容>")]
    title, *body, hint = lines
    card = Card(
        card_id=f"voice-{followup.id}",
        title=f"语音{title.rstrip('：')}，请确认",
        lines=(f"原话：{transcript}", *body, hint),
        buttons=(
            Button(f"确认 {followup.id}", "确认"),
            Button("改", "更正", style=2),
        ),
    )
    return [card]


async def confirm_followup(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """确认 <跟进编号>: the rep confirms the structured log of a voice note."""
    arg = cmd.rest.strip()
    if parse_int(arg, high=10**12) is None:
        raise UserError("请写上跟进编号（数字）", example="确认 12")
    followup_id = parse_id(arg)  # digits past any id: simply not one of theirs
    followup = await db.get(Followup, followup_id) if followup_id is not None else None
    if followup is None or followup.author_id != cmd.user.id:
        raise UserError(f"没有你的跟进记录 {arg}", example="确认 12")
    followup.extraction = {**(followup.extraction or {}), "confirmed": True}
    action = cmd.event.action
    if action is not None:
        return [CardUpdate(action.card_id, CONFIRMED, action.response_code)]
    return [Reply(f"跟进 {arg} {CONFIRMED}")]
