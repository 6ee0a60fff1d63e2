"""WeComBotAdapter: the 智能机器人 over its long connection — no public URL, no callback crypto.

Callback frames are stored in the inbox as they arrive (the raw frame, keyed by its msgid) and
handled by any instance's worker, like every other platform. Everything that goes out (answers,
pushes, card updates) must travel over the one connection: the instance holding it (see
holder.py) delivers those outbox rows, the others leave them for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy import select

from bot.adapter import AdapterDeps, Dead, Delivery, MediaError, RetryAt, Sent
from bot.metrics import CALLBACKS
from bot.wecom_bot import frames, media
from bot.wecom_bot.connection import BotConnection, BotError, BotUnavailable
from bot.wecom_bot.holder import ConnectionLock
from config.settings import ConfigError
from handlers.chat import (
    Card,
    CardUpdate,
    Event,
    EventKind,
    Image,
    Platform,
    Reply,
    message_as_text,
    message_from_payload,
)
from storage.inbox import store_event
from storage.models import Team, User
from storage.outbox import Address
from storage.queue_models import InboxItem, OutboxItem

log = structlog.get_logger()

PLATFORM = Platform.WECOM_BOT.value
CHANNEL = "chat"  # a single chat (the userid) or a group (its chatid): aibot_send_msg takes both
STANDBY_RETRY = timedelta(seconds=1)
RATE_LIMITED = (45009, 45033)
# Answer on the message's own frame while it is fresh (the doc's streams live up to 6 minutes
# after the user's message); later answers are pushed.
RESPOND_WINDOW = timedelta(minutes=5)


class WeComBotAdapter:
    platform = Platform.WECOM_BOT

    def __init__(self, deps: AdapterDeps, *, backoff_s: tuple[float, float] = (1.0, 30.0)) -> None:
        settings = deps.settings
        if not (settings.wecom_bot_id and settings.wecom_bot_secret):
            raise ConfigError("WeCom 智能机器人 needs SALESBOT_WECOM_BOT_ID and _BOT_SECRET")
        self.deps = deps
        self.connection = BotConnection(
            url=settings.wecom_bot_ws_url,
            bot_id=settings.wecom_bot_id,
            secret=settings.wecom_bot_secret,
            on_callback=self._store,
            heartbeat_s=settings.wecom_bot_heartbeat_s,
            backoff_s=backoff_s,
        )
        self.lock = ConnectionLock(
            deps.sessions.kw["bind"],
            key=settings.wecom_bot_id,
            poll_s=settings.wecom_bot_lock_poll_s,
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- in ----------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return []  # the connection goes out; nothing comes in over HTTP

    async def _store(self, raw: str, frame: dict[str, Any]) -> None:
        try:
            key = frames.callback_key(frame)
        except ValueError as err:
            log.warning("wecom_bot_frame_rejected", problem=str(err))
            return
        new = await store_event(
            self.deps.sessions,
            platform=PLATFORM,
            message_key=key,
            payload=raw,
            now=self.deps.clock.now(),
        )
        CALLBACKS.labels(PLATFORM, "new" if new else "duplicate").inc()
        if new:
            self.deps.wake_inbox()

    def to_event(self, payload: str, *, received_at: datetime) -> Event:
        event = frames.to_event(payload, received_at=received_at)
        if event.is_group:  # how an admin finds a team's wecom_bot_chatid: @ the bot once there
            log.info("wecom_bot_group_message", chatid=event.conversation_id)
        return event

    # --- addresses -----------------------------------------------------------------------------
    def reply_address(self, event: Event) -> Address:
        if event.is_group and event.conversation_id:
            return _chat(event.conversation_id)
        return _chat(event.sender)

    def user_address(self, user: User) -> Address | None:
        return _chat(user.wecom_userid) if user.wecom_userid else None

    def team_addresses(self, team: Team) -> list[Address]:
        return [_chat(team.wecom_bot_chatid)] if team.wecom_bot_chatid else []

    def user_platform_id(self, user: User) -> str | None:
        return user.wecom_userid

    # --- out -----------------------------------------------------------------------------------
    async def deliver(self, item: OutboxItem) -> Delivery:
        now = self.deps.clock.now()
        try:
            message = message_from_payload(item.payload)
        except (KeyError, ValueError, TypeError) as err:
            return Dead(f"unreadable outbox payload: {err!r}")
        if not self.lock.held:  # another instance holds the connection: it sends this row
            return RetryAt(now + STANDBY_RETRY, "standby: not this instance's connection", False)
        try:
            match message:
                case CardUpdate(response_code=None):
                    return Dead("card update without the click's req_id")
                case CardUpdate(response_code=req_id):
                    body = frames.update_body(message)
                    await self.connection.request(frames.RESPOND_UPDATE, body, req_id=req_id)
                case Reply() | Card():
                    if await self._respond(item, message):
                        return Sent({"via": "respond"})
                    await self._send(item.target, frames.message_body(message, outbox_id=item.id))
                case Image(caption=caption):
                    # Pictures need the chunked media upload (aibot_upload_media_*): not yet.
                    text = (caption or "图表") + "\n（图表请在看板查看）"
                    await self._send(
                        item.target, frames.message_body(Reply(text), outbox_id=item.id)
                    )
        except BotError as err:
            log.info("wecom_bot_refused", outbox_id=item.id, errcode=err.errcode, errmsg=err.errmsg)
            if err.errcode in RATE_LIMITED:
                return RetryAt(now + timedelta(seconds=60), str(err), count_attempt=False)
            if isinstance(message, CardUpdate):  # the click's req_id is spent or too old
                return Dead(str(err))
            return RetryAt(now + _backoff(item.attempts), str(err))
        except BotUnavailable as err:
            return RetryAt(now + _backoff(item.attempts), f"not connected: {err}")
        return Sent()

    async def _respond(self, item: OutboxItem, message: Reply | Card) -> bool:
        """An answer to a message frame goes back on that frame (aibot_respond_msg, the doc's
        reply): text as one finished stream, a card as a template card. Too late, or refused:
        False, and the caller pushes it with aibot_send_msg instead."""
        found = await self._answered_frame(item)
        if found is None:
            return False
        req_id, received_at = found
        if self.deps.clock.now() - received_at > RESPOND_WINDOW:
            return False
        if isinstance(message, Card):
            body = frames.message_body(message, outbox_id=item.id)
        else:
            text = message.text if message.markdown else message_as_text(message)
            body = frames.stream_body(text, stream_id=f"salesbot-{item.id}")
        try:
            await self.connection.request(frames.RESPOND, body, req_id=req_id)
        except BotError as err:
            log.info("wecom_bot_respond_refused", outbox_id=item.id, errcode=err.errcode)
            return False
        return True

    async def _answered_frame(self, item: OutboxItem) -> tuple[str, datetime] | None:
        """The message frame this row answers (its source is the inbox row): req_id, arrival."""
        prefix, _, rest = (item.source or "").partition(":")
        if prefix != "inbox" or not rest.isdigit():
            return None
        async with self.deps.sessions() as db:
            row = await db.get(InboxItem, int(rest))
        if row is None or row.platform != PLATFORM:
            return None
        try:
            frame = json.loads(row.payload)
        except ValueError:
            return None
        req_id = str((frame.get("headers") or {}).get("req_id") or "")
        if frame.get("cmd") != frames.MSG_CALLBACK or not req_id:
            return None
        return req_id, row.received_at

    async def _send(self, chatid: str, body: dict[str, Any]) -> None:
        await self.connection.request(frames.SEND, {"chatid": chatid, **body})

    async def download_media(self, event: Event, *, max_bytes: int) -> bytes:
        noun = {EventKind.VOICE: "语音", EventKind.IMAGE: "图片"}.get(event.kind, "文件")
        if event.kind == EventKind.VOICE and not event.media_id:
            raise MediaError("这条语音没有识别出文字，请再说一遍或打字发送")
        ref = await self._media_ref(event.media_id) if event.media_id else None
        return await media.download(self.deps.http, ref, max_bytes=max_bytes, noun=noun)

    async def _media_ref(self, msgid: str) -> str | None:
        """Url and key from the stored frame (the Event keeps only the message's id)."""
        async with self.deps.sessions() as db:
            stmt = select(InboxItem.payload).where(
                InboxItem.platform == PLATFORM, InboxItem.message_key == msgid
            )
            payload = (await db.execute(stmt)).scalar_one_or_none()
        return frames.media_of(payload) if payload else None

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="wecom-bot")

    async def _run(self) -> None:
        while not self._stop.is_set():
            if not await self.lock.acquire(self._stop):
                return
            session_stop = asyncio.Event()
            watch = asyncio.create_task(self._watch_lock(session_stop), name="wecom-bot-lock")
            try:
                await self.connection.run(session_stop)
            finally:
                watch.cancel()
                await asyncio.gather(watch, return_exceptions=True)
            if self.connection.replaced:
                await self._stop.wait()  # keep the lock: no instance of ours takes it back
                return
            await self.lock.release()

    async def _watch_lock(self, session_stop: asyncio.Event) -> None:
        """End the session on shutdown, or when the lock's connection stops answering."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.lock.poll_s)
            if self._stop.is_set() or not await self.lock.still_held():
                session_stop.set()
                return

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=self.deps.settings.shutdown_grace_s)
            if not done:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        await self.lock.release()

    def readiness(self) -> tuple[bool, str]:
        if self.connection.replaced:
            return False, f"wecom bot: {self.connection.detail}"
        if self.connection.connected:
            return True, "wecom bot: connected"
        if not self.lock.held and self._task is not None:
            return True, "wecom bot: standby, another instance holds the connection"
        return False, f"wecom bot: {self.connection.detail}"


def _chat(chatid: str) -> Address:
    return Address(PLATFORM, CHANNEL, chatid, f"wecom_bot:{chatid}")


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 * 3 ** max(0, attempts - 1)))
