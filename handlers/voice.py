"""Voice notes: a transcript becomes the same structured follow-up log, shown back as a card."""

from __future__ import annotations

from dataclasses import dataclass
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
from handlers.voice_repair import repair_voice_text, repairs_record
from storage.models import Followup, User
from storage.voice_recordings import keep_recording

CONFIRMED = "已确认 ✓"
NOT_HEARD = "没听清，请再说一遍或直接打字"


@dataclass(frozen=True, slots=True)
class Recording:
    """The audio of a voice note as received, and the same for browsers (bot/asr/playback.py)."""

    audio: bytes
    media_format: str | None
    playback: bytes | None
    playback_type: str | None
    duration_s: float | None


async def log_voice_note(
    db: AsyncSession,
    ctx: Context,
    *,
    user: User,
    transcript: str,
    message_id: str,
    asr: dict[str, Any],
    recording: Recording | None = None,
) -> list[Outgoing]:
    """Repair the transcript by sound, extract and store the follow-up (the repaired text as the
    note, the transcript as heard beside it); answer with a card to confirm or correct it."""
    if not transcript.strip():
        return [Reply(NOT_HEARD)]
    candidates = await visible_candidates(db, user)
    repaired = await repair_voice_text(db, ctx, transcript, [c.ref() for c in candidates])
    text = repaired.text
    extraction = await extract_for(ctx, text, candidates)
    try:
        lines, followup = await record_note(
            db,
            ctx,
            user=user,
            text=text,
            extraction=extraction,
            customer=None,
            source="voice",
            message_id=message_id,
            transcript=transcript,
            asr={**asr, "repairs": repairs_record(repaired)} if repaired.changed else asr,
        )
    except UserError as err:
        if extraction.customer is None or extraction.customer.confidence < LOW_CONFIDENCE:
            # No customer heard: ask, as for a typed note; the tap completes it.
            return await freetext.ask_for_customer(
                db,
                ctx,
                user,
                text=text,
                message_id=message_id,
                extraction=extraction,
                candidates=candidates,
                as_text=False,
                voice=True,
            )
        return [Reply(f"{err.problem}。我听到的是：「{text}」。请发：跟进 <客户> <内容>")]
    if recording is not None:
        await keep_recording(
            db,
            followup,
            audio=recording.audio,
            media_format=recording.media_format,
            playback=recording.playback,
            playback_type=recording.playback_type,
            duration_s=recording.duration_s,
            now=ctx.clock.now(),
        )
    title, *body, hint = lines
    card = Card(
        card_id=f"voice-{followup.id}",
        title=f"语音{title.rstrip('：')}，请确认",
        lines=(f"原话：{text}", *body, hint),
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
