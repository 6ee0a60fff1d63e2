"""Sending one outbox row to DingTalk: robot API, session webhook (while valid), custom robot."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import structlog
from yarl import URL

from bot.adapter import AdapterDeps, Dead, Delivery, RetryAt, Sent
from bot.dingtalk import cards, payloads
from bot.dingtalk.client import ApiError, DingTalkClient, TokenError
from bot.dingtalk.signing import robot_webhook_query
from handlers.chat import Card, CardUpdate, Image, Message, message_from_payload
from storage.models import Team
from storage.outbox import sent_recently
from storage.queue_models import OutboxItem

log = structlog.get_logger()

CUSTOM_ROBOT_PER_MINUTE = 20  # DingTalk throttles a custom robot for 10 minutes beyond this
CUSTOM_ROBOT_BAN = timedelta(minutes=10)
SESSION_EXPIRED = "300001"
TOO_FAST = "130101"
WEBHOOK_EXPIRY_MARGIN_MS = 30_000


SESSION_PATH = "/robot/sendBySession"  # developerpedia docs/learn/bot/message.md samples
_SESSION_VALUE = re.compile(r"[A-Za-z0-9_.~+/=-]{1,300}")


def is_session_webhook(url: str, oapi_base: str) -> bool:
    """`<oapi base>/robot/sendBySession?session=<token>` exactly: scheme, host, port, path,
    and the one query parameter. Anything else (the custom robot's /robot/send?access_token=…,
    another host) is not a reply address DingTalk gave us."""
    try:
        base, parts = urlsplit(oapi_base), urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return False
    return (
        (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        and parts.path == SESSION_PATH
        and not parts.fragment
        and list(query) == ["session"]
        and len(query["session"]) == 1
        and _SESSION_VALUE.fullmatch(query["session"][0]) is not None
    )


def robot_token(webhook: str) -> str:
    """A team's custom robot as its full webhook URL or just the access_token value."""
    if "access_token=" in webhook:
        return parse_qs(urlsplit(webhook.strip()).query)["access_token"][0]
    return webhook.strip()


class Sender:
    def __init__(self, deps: AdapterDeps, client: DingTalkClient) -> None:
        self.deps = deps
        self.client = client
        self.oapi_base = deps.settings.dingtalk_oapi_base.rstrip("/")
        self.template_id = deps.settings.dingtalk_card_template_id

    async def deliver(self, item: OutboxItem) -> Delivery:
        """Send one row. Platform errors become RetryAt or Dead, never exceptions."""
        try:
            message = message_from_payload(item.payload)
        except (KeyError, ValueError) as err:
            return Dead(f"unreadable outbox payload: {err!r}")
        mention = [str(uid) for uid in item.payload.get("mention") or []]
        try:
            if self.template_id and item.channel != "custom_robot":
                match message:
                    case Card():
                        return await self.send_card(item, message)
                    case CardUpdate():
                        await self.client.call_api(
                            cards.UPDATE, cards.update_body(message), method="PUT"
                        )
                        return Sent({"via": "card_update"})
            match item.channel:
                case "robot_user":
                    return await self.send_to_user(item.target, message)
                case "robot_group":
                    return await self.send_to_group(item.target, message)
                case "session_webhook":
                    return await self.send_by_session(item.target, message, mention)
                case "custom_robot":
                    return await self.send_by_custom_robot(item, message, mention)
            return Dead(f"unknown DingTalk channel {item.channel!r}")
        except ApiError as err:
            return self._failed(err, item)

    async def send_card(self, item: OutboxItem, card: Card) -> Delivery:
        """An interactive card from the template, to the user's robot chat or the group."""
        user = conversation = None
        if item.channel == "robot_user":
            user = item.target
        elif item.channel == "robot_group":
            conversation = item.target
        else:  # a session webhook's target says who asked, and where
            try:
                hook: dict[str, Any] = json.loads(item.target)
            except ValueError as err:
                return Dead(f"bad session_webhook target: {err!r}")
            conversation, user = hook.get("conversation"), hook.get("user")
        track_id = cards.out_track_id(card.card_id, item.id)
        body = cards.deliver_body(
            card,
            template_id=self.template_id or "",
            track_id=track_id,
            robot_code=self.client.robot_code,
            user=str(user) if user else None,
            conversation=str(conversation) if conversation else None,
            stream=self.deps.settings.dingtalk_mode == "stream",
        )
        answer = await self.client.call_api(cards.CREATE_AND_DELIVER, body)
        return Sent({"outTrackId": track_id, "result": answer.get("result")})

    async def send_to_user(self, staff_id: str, message: Message) -> Delivery:
        msg_key, param = await self._robot_payload(message, in_group=False)
        answer = await self.client.call_api(
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": self.client.robot_code,
                "userIds": [staff_id],
                "msgKey": msg_key,
                "msgParam": json.dumps(param, ensure_ascii=False),
            },
        )
        if staff_id in (answer.get("invalidStaffIdList") or []):
            return Dead(f"DingTalk does not know user {staff_id} (invalidStaffIdList)")
        if staff_id in (answer.get("flowControlledStaffIdList") or []):
            # Per-recipient flow control: wait, without spending an attempt.
            return RetryAt(self._now() + timedelta(minutes=1), "flow controlled", False)
        return Sent({"processQueryKey": answer.get("processQueryKey")})

    async def send_to_group(self, conversation_id: str, message: Message) -> Delivery:
        msg_key, param = await self._robot_payload(message, in_group=True)
        answer = await self.client.call_api(
            "/v1.0/robot/groupMessages/send",
            {
                "robotCode": self.client.robot_code,
                "openConversationId": conversation_id,
                "msgKey": msg_key,
                "msgParam": json.dumps(param, ensure_ascii=False),
            },
        )
        return Sent({"processQueryKey": answer.get("processQueryKey")})

    async def send_by_session(self, target: str, message: Message, mention: list[str]) -> Delivery:
        try:
            hook: dict[str, Any] = json.loads(target)
            url, expires_ms = str(hook["url"]), int(hook["expires_ms"])
        except (ValueError, KeyError, TypeError) as err:
            return Dead(f"bad session_webhook target: {err!r}")
        now_ms = int(self._now().timestamp() * 1000)
        if not is_session_webhook(url, self.oapi_base):  # rows written before the check existed
            expires_ms = 0
        # Webhooks cannot carry images, and an expired one answers 300001: use the API then.
        if not isinstance(message, Image) and now_ms < expires_ms - WEBHOOK_EXPIRY_MARGIN_MS:
            conversation = hook.get("conversation")
            at = [*hook.get("at", []), *mention]
            body = payloads.webhook_body(message, in_group=bool(conversation), at_user_ids=at)
            try:
                await self.client.post_webhook(url, body)
                return Sent({"via": "session_webhook"})
            except ApiError as err:
                if err.code != SESSION_EXPIRED:
                    raise
        if hook.get("conversation"):
            return await self.send_to_group(str(hook["conversation"]), message)
        return await self.send_to_user(str(hook["user"]), message)

    async def send_by_custom_robot(
        self, item: OutboxItem, message: Message, mention: list[str]
    ) -> Delivery:
        team = await self._team(item.target)
        if team is None or not team.dingtalk_webhook:
            return Dead(f"{item.target} has no DingTalk custom robot any more")
        now = self._now()
        async with self.deps.sessions() as db:
            recent = await sent_recently(db, item.rate_key, since=now - timedelta(minutes=1))
        if recent >= CUSTOM_ROBOT_PER_MINUTE:
            # The window is full: queue, never drop, and do not count it as a failure.
            wait = timedelta(seconds=60 / CUSTOM_ROBOT_PER_MINUTE)
            return RetryAt(now + wait, "custom robot: 20 messages a minute", False)
        url = (
            f"{self.oapi_base}/robot/send?access_token={quote(robot_token(team.dingtalk_webhook))}"
        )
        if team.dingtalk_secret:
            url += "&" + robot_webhook_query(int(now.timestamp() * 1000), team.dingtalk_secret)
        body = payloads.webhook_body(message, in_group=True, at_user_ids=mention)
        await self.client.post_webhook(URL(url, encoded=True), body)
        return Sent({"via": "custom_robot"})

    async def _robot_payload(
        self, message: Message, *, in_group: bool
    ) -> tuple[str, dict[str, str]]:
        if isinstance(message, Image):
            return payloads.image_message(await self.client.upload_image(message.png))
        return payloads.robot_message(message, in_group=in_group)

    async def _team(self, target: str) -> Team | None:
        prefix, _, team_id = target.partition(":")
        if prefix != "team" or not team_id.isdigit():
            return None
        async with self.deps.sessions() as db:
            return await db.get(Team, int(team_id))

    def _failed(self, err: ApiError, item: OutboxItem) -> Delivery:
        now = self._now()
        log.warning("dingtalk_send_failed", outbox_id=item.id, channel=item.channel, error=str(err))
        if err.code == TOO_FAST:
            return RetryAt(now + CUSTOM_ROBOT_BAN, str(err), False)
        if err.is_rate_limited:
            return RetryAt(now + timedelta(seconds=2), str(err), False)
        if err.is_quota_spent:
            return Dead(f"DingTalk monthly API quota spent: {err}")
        if err.is_transient or err.is_auth or isinstance(err, TokenError):
            return RetryAt(now + _backoff(item.attempts), str(err))
        return Dead(str(err))

    def _now(self) -> datetime:
        return self.deps.clock.now()


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))
