"""WeComAdapter: the self-built app's callbacks, addresses, deliveries and media downloads."""

from __future__ import annotations

from datetime import datetime

import structlog
from aiohttp import web

from bot.adapter import AdapterDeps, Dead, Delivery, MediaError, RetryAt, Sent
from bot.wecom import payloads
from bot.wecom.callback import CallbackRoutes
from bot.wecom.client import MediaTooLarge, WeComClient, WeComError, WeComUnavailable
from bot.wecom.crypto import CallbackCrypto
from bot.wecom.delivery import TASK_ID_EXISTS, after_error, backoff, rate_limit_until
from bot.wecom.events import to_event
from config.settings import ConfigError
from handlers.chat import (
    Card,
    CardUpdate,
    Event,
    EventKind,
    Image,
    Message,
    Platform,
    Reply,
    message_from_payload,
)
from storage.models import Team, User
from storage.outbox import Address
from storage.queue_models import OutboxItem

APP_USER, GROUP_ROBOT, APPCHAT = "app_user", "group_robot", "appchat"

log = structlog.get_logger()


class WeComAdapter:
    platform = Platform.WECOM

    def __init__(self, deps: AdapterDeps) -> None:
        settings = deps.settings
        corp_id, agent_id = settings.wecom_corp_id, settings.wecom_agent_id
        token, aes_key, secret = settings.wecom_token, settings.wecom_aes_key, settings.wecom_secret
        if not (corp_id and agent_id and token and aes_key and secret):
            raise ConfigError(
                "WeCom needs SALESBOT_WECOM_CORP_ID, _AGENT_ID, _SECRET, _TOKEN, _AES_KEY"
            )
        self._deps = deps
        crypto = CallbackCrypto(
            token=token,
            encoding_aes_key=aes_key,
            corp_id=corp_id,
            window_s=settings.callback_window_s,
        )
        self._callbacks = CallbackRoutes(deps, crypto)
        self.client = WeComClient(
            http=deps.http,
            sessions=deps.sessions,
            clock=deps.clock,
            api_base=settings.wecom_api_base,
            corp_id=corp_id,
            agent_id=agent_id,
            secret=secret,
        )

    def routes(self) -> list[web.RouteDef]:
        return self._callbacks.routes()

    def to_event(self, payload: str, *, received_at: datetime) -> Event:
        return to_event(payload, received_at=received_at)

    def reply_address(self, event: Event) -> Address:
        return _app_user(event.sender)

    def user_address(self, user: User) -> Address | None:
        return _app_user(user.wecom_userid) if user.wecom_userid else None

    def team_addresses(self, team: Team) -> list[Address]:
        """Every group the team configured: its robot webhook and/or its app group chat."""
        addresses = []
        if team.wecom_webhook_key:
            key = team.wecom_webhook_key
            addresses.append(Address("wecom", GROUP_ROBOT, key, f"wecom:robot:{key}"))
        if team.wecom_chat_id:
            chat = team.wecom_chat_id
            addresses.append(Address("wecom", APPCHAT, chat, f"wecom:appchat:{chat}"))
        return addresses

    def user_platform_id(self, user: User) -> str | None:
        return user.wecom_userid

    async def deliver(self, item: OutboxItem) -> Delivery:
        """One outbox row → WeCom; the outbox sender records the outcome and counts it."""
        delivery = await self._deliver(item)
        if not isinstance(delivery, Sent):
            log.info(
                "wecom_not_sent", outbox_id=item.id, channel=item.channel, result=repr(delivery)
            )
        return delivery

    async def _deliver(self, item: OutboxItem) -> Delivery:
        now = self._deps.clock.now()
        try:
            message = message_from_payload(item.payload)
        except (KeyError, ValueError, TypeError) as err:
            return Dead(f"unreadable outbox payload: {err!r}")
        mention = tuple(str(userid) for userid in item.payload.get("mention", ()))
        if not isinstance(message, CardUpdate):  # a card update is no new message to the member
            wait_until = await rate_limit_until(self._deps.sessions, item, now=now)
            if wait_until is not None:
                return RetryAt(wait_until, "rate limit", count_attempt=False)
        try:
            return await self._send(item, message, mention)
        except WeComError as err:
            if err.errcode == TASK_ID_EXISTS and item.attempts > 1:
                # Our task_id is fixed per row: an earlier attempt got through before timing out.
                return Sent({"note": "task_id existed: delivered by an earlier attempt"})
            return after_error(
                err.errcode,
                err.errmsg,
                attempts=item.attempts,
                is_card_update=isinstance(message, CardUpdate),
                now=self._deps.clock.now(),
            )
        except WeComUnavailable as err:
            return RetryAt(backoff(item.attempts, now=self._deps.clock.now()), str(err))
        except ValueError as err:  # a message this channel cannot carry (e.g. an oversize image)
            return Dead(str(err))

    async def _send(self, item: OutboxItem, message: Message, mention: tuple[str, ...]) -> Delivery:
        agent_id = self.client.agent_id
        match item.channel, message:
            case "app_user", CardUpdate(response_code=None):
                return Dead("card update without a response_code")
            case "app_user", CardUpdate():
                await self.client.call(
                    "message/update_template_card",
                    payloads.card_update(agent_id, item.target, message),
                )
                return Sent()
            case "app_user", Reply() | Card():
                body = payloads.app_message(agent_id, item.target, message, outbox_id=item.id)
                return _sent(await self.client.call("message/send", body))
            case "app_user", Image(png=png):
                media_id = await self.client.upload_media("image", "chart.png", png, "image/png")
                return _sent(
                    await self.client.call(
                        "message/send", payloads.app_image(agent_id, item.target, media_id)
                    )
                )
            case "group_robot", Reply() | Card():
                await self.client.send_to_robot(item.target, payloads.robot_text(message, mention))
                return Sent()
            case "group_robot", Image(png=png, caption=caption):
                await self.client.send_to_robot(item.target, payloads.robot_image(png))
                return await self._caption_after_image(item, caption, mention)
            case "appchat", Reply() | Card():
                await self.client.call("appchat/send", payloads.appchat_text(item.target, message))
                return Sent()
            case "appchat", Image(png=png, caption=caption):
                media_id = await self.client.upload_media("image", "chart.png", png, "image/png")
                await self.client.call(
                    "appchat/send", payloads.appchat_image(item.target, media_id)
                )
                if caption:
                    await self.client.call(
                        "appchat/send", payloads.appchat_text(item.target, Reply(caption))
                    )
                return Sent()
        return Dead(f"{type(message).__name__} cannot go to a WeCom {item.channel}")

    async def _caption_after_image(
        self, item: OutboxItem, caption: str, mention: tuple[str, ...]
    ) -> Delivery:
        """The image is out: a failed caption is logged, not retried (that would resend it)."""
        if not caption and not mention:
            return Sent()
        try:
            await self.client.send_to_robot(
                item.target, payloads.robot_text(Reply(caption), mention)
            )
        except (WeComError, WeComUnavailable) as err:
            log.warning("wecom_caption_failed", outbox_id=item.id, error=str(err))
            return Sent({"caption_error": str(err)})
        return Sent()

    async def download_media(self, event: Event, *, max_bytes: int) -> bytes:
        noun = "语音" if event.kind == EventKind.VOICE else "文件"
        if not event.media_id:
            raise MediaError(f"这条消息里没有可下载的{noun}")
        try:
            return await self.client.download_media(event.media_id, max_bytes=max_bytes)
        except MediaTooLarge as err:
            raise MediaError(
                f"{noun}太大了（超过 {max_bytes // (1024 * 1024)} MB），请分段发送"
            ) from err
        except WeComError as err:
            log.info("wecom_media_error", errcode=err.errcode, errmsg=err.errmsg)
            if err.errcode == 40007:  # media ids live 3 days
                raise MediaError(f"这条{noun}已过期，请重新发送") from err
            raise MediaError(f"暂时无法获取这条{noun}，请稍后重新发送") from err
        except WeComUnavailable as err:
            log.warning("wecom_media_unavailable", error=str(err))
            raise MediaError(f"暂时无法获取这条{noun}，请稍后重新发送") from err

    async def start(self) -> None:
        """Nothing to open: HTTP is the shared session, the token is fetched on first use."""

    async def close(self) -> None:
        """Nothing to close: the shared HTTP session belongs to the app."""


def _app_user(userid: str) -> Address:
    return Address("wecom", APP_USER, userid, f"wecom:user:{userid}")


def _sent(answer: dict[str, object]) -> Sent:
    """Keep what a later step needs: msgid (recall) and response_code (card update)."""
    if answer.get("invaliduser"):
        log.warning("wecom_invalid_users", invaliduser=answer.get("invaliduser"))
    return Sent({k: answer[k] for k in ("msgid", "response_code") if answer.get(k)})
