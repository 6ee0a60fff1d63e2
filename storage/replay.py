"""Signatures accepted once (DingTalk HTTP mode), and private conversations bound to one sender."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.guard_models import ConversationOwner, SeenSignature
from storage.upsert import insert_for, rowcount


async def claim_signature(
    sessions: async_sessionmaker[AsyncSession],
    *,
    platform: str,
    signature: str,
    message_key: str,
    expires_at: datetime,
) -> bool:
    """True if `signature` is new, or was already used by this same message (a redelivery with
    the same headers); False if it came with another message before: a replay."""
    async with sessions() as db, db.begin():
        stmt = (
            insert_for(db, SeenSignature)
            .values(
                platform=platform,
                signature=signature,
                message_key=message_key,
                expires_at=expires_at,
            )
            .on_conflict_do_nothing(index_elements=["platform", "signature"])
        )
        if rowcount(await db.execute(stmt)):
            return True
        first = await db.scalar(
            select(SeenSignature.message_key).where(
                SeenSignature.platform == platform, SeenSignature.signature == signature
            )
        )
    return first == message_key


async def purge_signatures(db: AsyncSession, *, now: datetime) -> int:
    """Expired signatures are refused by their timestamp anyway: forget them."""
    result = await db.execute(delete(SeenSignature).where(SeenSignature.expires_at < now))
    return rowcount(result)


async def conversation_sender_matches(
    db: AsyncSession, *, platform: str, conversation_id: str, sender: str, now: datetime
) -> bool:
    """Bind a private conversation to its first sender; False when another sender claims it."""
    stmt = (
        insert_for(db, ConversationOwner)
        .values(
            platform=platform, conversation_id=conversation_id, sender=sender, first_seen_at=now
        )
        .on_conflict_do_nothing(index_elements=["platform", "conversation_id"])
    )
    if rowcount(await db.execute(stmt)):
        return True
    owner = await db.scalar(
        select(ConversationOwner.sender).where(
            ConversationOwner.platform == platform,
            ConversationOwner.conversation_id == conversation_id,
        )
    )
    return owner == sender
