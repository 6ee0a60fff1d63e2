"""Voice recordings for playback: who may hear one, signed links to it, and their retention.

A recording is heard by whoever may see its customer (handlers/permissions.py). A signed link
names the recording, the user it was made for and when it expires, with an HMAC-SHA256 over
the three: the web endpoint (bot/media.py) checks it, then the user's permission as of now.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting.findings import JobResult, Raised
from handlers.context import Context
from handlers.permissions import customers_visible_to
from storage.models import Customer, User, VoiceRecording
from storage.voice_recordings import purge_before

DEFAULT_RETENTION_DAYS = 180
MEDIA_PATH = "/media/voice/{id}"


class Refusal(StrEnum):
    NOT_FOUND = "not_found"  # no such recording, or not for this user to know of
    PURGED = "purged"  # kept its retention time, then emptied
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class Playable:
    body: bytes
    content_type: str


def _signature(secret: bytes, recording_id: int, user_id: int, expires: int) -> str:
    message = f"voice:{recording_id}:{user_id}:{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_path(
    secret: bytes, recording_id: int, user_id: int, *, now: datetime, ttl: timedelta
) -> str:
    """/media/voice/<id>?u=<user>&exp=<unix seconds>&sig=<hmac>, valid for `ttl`."""
    expires = int((now + ttl).timestamp())
    sig = _signature(secret, recording_id, user_id, expires)
    query = urlencode({"u": user_id, "exp": expires, "sig": sig})
    return f"{MEDIA_PATH.format(id=recording_id)}?{query}"


def check_signature(
    secret: bytes, recording_id: int, *, user: str, expires: str, sig: str, now: datetime
) -> int | None:
    """The user id a link was made for, if its signature holds and it has not expired."""
    if not (user.isdigit() and expires.isdigit()) or not secret:
        return None
    expected = _signature(secret, recording_id, int(user), int(expires))
    if not hmac.compare_digest(expected, sig) or int(expires) < now.timestamp():
        return None
    return int(user)


async def playable(db: AsyncSession, recording_id: int, user: User) -> Playable | Refusal:
    """The recording's browser audio if `user` may see its customer."""
    recording = await db.get(VoiceRecording, recording_id)
    if recording is None:
        return Refusal.NOT_FOUND
    visible = select(Customer.id).where(
        Customer.id == recording.customer_id, customers_visible_to(user)
    )
    if (await db.execute(visible)).first() is None:
        return Refusal.FORBIDDEN
    if recording.purged_at is not None or not (recording.playback or recording.audio):
        return Refusal.PURGED
    if recording.playback and recording.playback_type:
        return Playable(recording.playback, recording.playback_type)
    assert recording.audio is not None  # noqa: S101 - checked above
    return Playable(recording.audio, "application/octet-stream")


async def purge_recordings(
    db: AsyncSession, *, now: datetime, keep_days: int = DEFAULT_RETENTION_DAYS
) -> int:
    """Empty the recordings older than `keep_days` (their follow-ups and transcripts stay)."""
    return await purge_before(db, now - timedelta(days=keep_days), now=now)


async def run_voice_purge(
    db: AsyncSession, ctx: Context, *, now: datetime, dry_run: bool = False
) -> JobResult:
    """The scheduled job: recordings past SALESBOT_VOICE_RETENTION_DAYS are purged."""
    if dry_run:
        return JobResult()
    purged = await purge_recordings(db, now=now, keep_days=ctx.voice_retention_days)
    result = JobResult()
    if purged:
        result.raised.append(Raised("-", "voice_purge", f"{purged} recordings", "purged"))
    return result
