"""The DingTalk adapter: callbacks or Stream in, addresses for replies and pushes, media out."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from datetime import datetime
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from bot.adapter import AdapterDeps, Delivery, MediaError
from bot.dingtalk import cards, events
from bot.dingtalk.callback import callback_routes, save_message
from bot.dingtalk.client import ApiError, DingTalkClient, TooLarge
from bot.dingtalk.delivery import Sender, is_session_webhook, robot_token
from bot.dingtalk.stream import StreamRunner
from handlers.chat import Event, EventKind, Platform
from storage.models import Team, User
from storage.outbox import Address
from storage.queue_models import OutboxItem

log = structlog.get_logger()

PLATFORM = Platform.DINGTALK.value
WEBHOOK_MARGIN_MS = 5 * 60_000  # leave the outbox time to send before the session ends
REMEMBERED_WEBHOOKS = 2000
TARGET_MAX_CHARS = 500  # outbox.target column


class DingTalkAdapter:
    platform = Platform.DINGTALK

    def __init__(self, deps: AdapterDeps, *, backoff_s: tuple[float, float] = (1.0, 60.0)) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.client = DingTalkClient(deps)
        self.sender = Sender(deps, self.client)
        self.oapi_host = urlsplit(deps.settings.dingtalk_oapi_base).netloc
        # msgId → (sessionWebhook, expiry ms): the Event has no field for it, and the worker
        # asks for the reply address right after to_event() on the same row.
        self._webhooks: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self.stream: StreamRunner | None = None
        if deps.settings.dingtalk_mode == "stream":
            self.stream = StreamRunner(
                app_key=deps.settings.dingtalk_app_key or "",
                app_secret=deps.settings.dingtalk_app_secret or "",
                api_base=deps.settings.dingtalk_api_base,
                store=lambda key, payload: save_message(deps, key, payload),
                backoff_s=backoff_s,
            )

    def routes(self) -> list[web.RouteDef]:
        return [] if self.stream else callback_routes(self.deps)

    def to_event(self, payload: str, *, received_at: datetime) -> Event:
        parsed = events.parse_payload(payload)
        if isinstance(parsed, events.CardCallback):
            return events.card_event(parsed, payload, received_at=received_at)
        self._remember_webhook(parsed)
        if parsed.is_group:
            # How an admin finds the id for the teams file: @ the robot once in the group.
            log.info(
                "dingtalk_group_message",
                conversation_id=parsed.conversation_id,
                title=(parsed.model_extra or {}).get("conversationTitle"),
            )
        return events.message_event(parsed, received_at=received_at)

    def reply_address(self, event: Event) -> Address:
        hook = self._webhooks.get(event.message_id)
        now_ms = int(self.deps.clock.now().timestamp() * 1000)
        if hook and hook[1] - now_ms > WEBHOOK_MARGIN_MS:
            spec: dict[str, object] = {"url": hook[0], "expires_ms": hook[1]}
            if event.is_group and event.conversation_id:
                spec |= {"conversation": event.conversation_id, "at": [event.sender]}
            else:
                spec["user"] = event.sender
            target = json.dumps(spec, ensure_ascii=False, separators=(",", ":"))
            if len(target) <= TARGET_MAX_CHARS:
                return Address(PLATFORM, "session_webhook", target, _rate_key(event))
        if event.is_group and event.conversation_id:
            return _group_address(event.conversation_id)
        return _user_address(event.sender)

    def user_address(self, user: User) -> Address | None:
        return _user_address(user.dingtalk_userid) if user.dingtalk_userid else None

    def team_addresses(self, team: Team) -> list[Address]:
        """The app robot in the team's group if configured, else the team's custom robot."""
        if team.dingtalk_conversation_id:
            return [_group_address(team.dingtalk_conversation_id)]
        if team.dingtalk_webhook:
            token = robot_token(team.dingtalk_webhook)
            rate_key = "dingtalk:custom_robot:" + hashlib.sha256(token.encode()).hexdigest()[:16]
            # The target names the team, not the webhook: no credentials in outbox rows.
            return [Address(PLATFORM, "custom_robot", f"team:{team.id}", rate_key)]
        return []

    def user_platform_id(self, user: User) -> str | None:
        return user.dingtalk_userid

    async def deliver(self, item: OutboxItem) -> Delivery:
        return await self.sender.deliver(item)

    async def download_media(self, event: Event, *, max_bytes: int) -> bytes:
        what = "语音" if event.kind == EventKind.VOICE else "文件"
        if not event.media_id:
            raise MediaError(f"这条{what}消息没有可下载的内容，请重新发送。")
        try:
            url = await self.client.download_url(event.media_id)
            return await self.client.fetch(url, max_bytes=max_bytes)
        except TooLarge:
            raise MediaError(f"{what}太大了，请分成几段再发。") from None
        except ApiError as err:
            raise MediaError(f"{what}下载失败，请再发一次。") from err

    async def start(self) -> None:
        if self.stream:
            self.stream.start()
        elif self.settings.dingtalk_card_template_id and self.settings.dingtalk_public_url:
            await self._register_card_callback()

    async def _register_card_callback(self) -> None:
        """HTTP mode: tell DingTalk where card clicks go (idempotent, forceUpdate)."""
        body = cards.register_body(
            self.settings.dingtalk_public_url or "", self.settings.dingtalk_app_secret or ""
        )
        try:
            await self.client.call_api(cards.REGISTER_CALLBACK, body)
            log.info("dingtalk_card_callback_registered", path=cards.CALLBACK_PATH)
        except ApiError as err:  # cards still go out; clicks wait until this works
            log.error("dingtalk_card_callback_register_failed", error=str(err))

    async def close(self) -> None:
        if self.stream:
            await self.stream.stop(self.settings.shutdown_grace_s)

    def readiness(self) -> tuple[bool, str]:
        """For /readyz: the Stream connection's state; HTTP mode has nothing to be down."""
        if self.stream:
            connected, detail = self.stream.readiness()
            return connected, f"dingtalk stream: {detail}"
        return True, "dingtalk http callback mode"

    def _remember_webhook(self, message: events.RobotMessage) -> None:
        url, expires_ms = message.session_webhook, message.session_webhook_expires_ms
        # Only DingTalk's own form (host and path): the callback sign does not cover the body,
        # so a forged request must not be able to point our replies somewhere else.
        if not url or not expires_ms:
            return
        if not is_session_webhook(url, self.settings.dingtalk_oapi_base):
            log.warning("dingtalk_session_webhook_ignored", msg_id=message.msg_id)
            return
        self._webhooks[message.msg_id] = (url, expires_ms)
        self._webhooks.move_to_end(message.msg_id)
        while len(self._webhooks) > REMEMBERED_WEBHOOKS:
            self._webhooks.popitem(last=False)


def _user_address(staff_id: str) -> Address:
    return Address(PLATFORM, "robot_user", staff_id, f"dingtalk:user:{staff_id}")


def _group_address(conversation_id: str) -> Address:
    return Address(PLATFORM, "robot_group", conversation_id, f"dingtalk:group:{conversation_id}")


def _rate_key(event: Event) -> str:
    if event.is_group and event.conversation_id:
        return f"dingtalk:group:{event.conversation_id}"
    return f"dingtalk:user:{event.sender}"
