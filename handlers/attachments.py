"""Nothing a user sends is dropped: pictures, files, videos, places and links are kept.

A picture or file is a task's evidence when a task is waiting for one (完成 <编号> without a note);
otherwise it is kept and goes onto the sender's next follow-up, like a place shared in chat (a
visit check-in: 现场打卡, its time and place) — within CARRY_OVER of being sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Event, Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.timefmt import format_local
from storage.models import Attachment, User
from storage.upsert import insert_for

CARRY_OVER = timedelta(hours=12)
NOUNS = {"image": "图片", "file": "文件", "video": "视频", "location": "现场打卡", "link": "链接"}


@dataclass(frozen=True, slots=True)
class Place:
    label: str
    latitude: float | None = None
    longitude: float | None = None


async def keep(
    db: AsyncSession,
    event: Event,
    user: User,
    *,
    kind: str,
    label: str = "",
    place: Place | None = None,
    task_id: int | None = None,
) -> None:
    """Store what arrived (once per message and kind: a redelivery changes nothing)."""
    stmt = (
        insert_for(db, Attachment)
        .values(
            user_id=user.id,
            platform=str(event.platform),
            message_id=event.message_id,
            kind=kind,
            media_id=event.media_id,
            label=(place.label if place else label)[:2000],
            latitude=place.latitude if place else None,
            longitude=place.longitude if place else None,
            at=event.received_at,
            task_id=task_id,
        )
        .on_conflict_do_nothing(index_elements=["platform", "message_id", "kind"])
    )
    await db.execute(stmt)


async def onto_followup(
    db: AsyncSession, *, user_id: int, followup_id: int, now: datetime, tz: ZoneInfo
) -> list[str]:
    """Carry the sender's recent loose attachments onto this follow-up; lines for the answer."""
    stmt = (
        select(Attachment)
        .where(
            Attachment.user_id == user_id,
            Attachment.followup_id.is_(None),
            Attachment.task_id.is_(None),
            Attachment.at >= now - CARRY_OVER,
        )
        .order_by(Attachment.at, Attachment.id)
    )
    lines = []
    for attachment in (await db.execute(stmt)).scalars():
        attachment.followup_id = followup_id
        if attachment.kind == "location":
            when = format_local(attachment.at, tz)
            lines.append(f"现场打卡：{when} {attachment.label}".rstrip())
        else:
            shown = f"：{attachment.label}" if attachment.label else ""
            lines.append(f"附件（{NOUNS.get(attachment.kind, attachment.kind)}）{shown}")
    return lines


async def release(db: AsyncSession, *, followup_id: int) -> None:
    """An undone follow-up gives its attachments back (the next follow-up takes them)."""
    await db.execute(
        update(Attachment).where(Attachment.followup_id == followup_id).values(followup_id=None)
    )


async def claim(db: AsyncSession, event: Event, *, kind: str, task_id: int) -> None:
    """The attachment of this message is the evidence of this task."""
    await db.execute(
        update(Attachment)
        .where(
            Attachment.platform == str(event.platform),
            Attachment.message_id == event.message_id,
            Attachment.kind == kind,
        )
        .values(task_id=task_id)
    )


async def check_in(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """A place shared in chat: a visit check-in, kept for the next follow-up."""
    event = cmd.event
    place = Place(event.text.strip() or "（未命名位置）", event.latitude, event.longitude)
    await keep(db, event, cmd.user, kind="location", place=place)
    when = format_local(event.received_at, ctx.tz)
    return [
        Reply(
            f"已记录现场打卡：{when} {place.label}。接着发这次拜访的跟进"
            "（如：跟进 启明 现场演示，客户要报价），打卡会记在那条跟进上"
        )
    ]


async def keep_link(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """A shared link: kept as text on the next follow-up."""
    await keep(db, cmd.event, cmd.user, kind="link", label=cmd.event.text.strip())
    title = cmd.event.text.strip().splitlines()[0][:40] if cmd.event.text.strip() else "链接"
    return [Reply(f"已收下链接「{title}」，会记在你的下一条跟进上。")]
