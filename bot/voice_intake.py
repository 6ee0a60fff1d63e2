"""Voice events become voice jobs (transcribed off the event loop); nothing slow happens here."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from bot.wakes import wake_after_commit
from config.settings import Settings
from handlers.chat import Event, Outgoing, Reply
from handlers.router import find_sender
from storage.queue_models import ItemStatus, VoiceJob
from storage.upsert import insert_for

VOICE_OFF = "语音识别未开启，请把跟进内容打字发给我，例如：跟进 启明科技 电话确认了试用安排"
NOT_REGISTERED = "你还没有在 salesbot 登记，暂时不能使用。请联系销售主管或系统管理员把你加入团队"


class VoiceIntake:
    def __init__(self, settings: Settings, *, wake: asyncio.Event | None = None) -> None:
        self.settings = settings
        self.wake = wake  # the voice workers': set once the job is committed

    async def __call__(self, event: Event, db: AsyncSession) -> list[Outgoing]:
        user = await find_sender(db, event)
        if user is None:
            return [Reply(NOT_REGISTERED)]
        text_only = not event.media_id and bool((event.recognition or "").strip())
        if self.settings.asr_engine == "none" and not text_only:
            return [Reply(VOICE_OFF)]
        stmt = (
            insert_for(db, VoiceJob)
            .values(
                platform=str(event.platform),
                message_id=event.message_id,
                sender=event.sender,
                user_id=user.id,
                media_id=event.media_id,
                media_format=event.media_format,
                recognition=event.recognition,
                received_at=event.received_at,
                status=ItemStatus.NEW,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["platform", "message_id"])
        )
        await db.execute(stmt)
        wake_after_commit(db, self.wake)
        return []  # the voice worker answers with the structured log
