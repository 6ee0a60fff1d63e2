"""DingTalk payloads → the chat model: robot messages (text, richText, picture, audio), clicks."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from handlers.chat import CardAction, Event, EventKind, Platform

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
CARD_KEY_PREFIX = "card:"  # inbox keys of card clicks; robot messages use their msgId

# Field bounds checked before anything is stored (docs/SECURITY.md). Ids are printable ASCII
# without spaces; lengths leave room under the columns they end up in (message ids: 200,
# senders: 100, outbox targets: 500).
_ID_CHARS = r"^[\x21-\x7e]+$"
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_ID_CHARS)]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_ID_CHARS)]
ConversationId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_ID_CHARS)]
Url = Annotated[str, StringConstraints(max_length=1000, pattern=_ID_CHARS)]
Label = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Millis = Annotated[int, Field(ge=0, le=10**14)]


class _Lenient(BaseModel):
    # DingTalk adds undocumented fields (senderPlatform, openThreadId, …) without notice:
    # rejecting unknown keys would turn a harmless addition into lost messages.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TextBody(_Lenient):
    content: str = ""


class AtUser(_Lenient):
    dingtalk_id: Annotated[str, StringConstraints(max_length=200)] = Field(
        default="", alias="dingtalkId"
    )
    staff_id: UserId | None = Field(default=None, alias="staffId")


class RobotMessage(_Lenient):
    """The robot message JSON: an HTTP-mode body, or the `data` of a Stream frame."""

    msg_id: MessageId = Field(alias="msgId")
    msgtype: Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^\w+$")]
    conversation_type: Literal["1", "2"] = Field(default="1", alias="conversationType")
    conversation_id: ConversationId | None = Field(default=None, alias="conversationId")
    sender_id: UserId | None = Field(default=None, alias="senderId")
    sender_staff_id: UserId | None = Field(default=None, alias="senderStaffId")
    sender_nick: Label | None = Field(default=None, alias="senderNick")
    sender_corp_id: UserId | None = Field(default=None, alias="senderCorpId")
    chatbot_corp_id: UserId | None = Field(default=None, alias="chatbotCorpId")
    create_at: Millis | None = Field(default=None, alias="createAt")
    session_webhook: Url | None = Field(default=None, alias="sessionWebhook")
    session_webhook_expires_ms: Millis | None = Field(
        default=None, alias="sessionWebhookExpiredTime"
    )
    at_users: list[AtUser] = Field(default_factory=list, alias="atUsers", max_length=100)
    is_in_at_list: bool | None = Field(default=None, alias="isInAtList")
    robot_code: UserId | None = Field(default=None, alias="robotCode")
    text: TextBody | None = None
    content: dict[str, Any] | None = None

    @property
    def sender(self) -> str:
        # senderStaffId is the org user id the send APIs want; external people only have senderId.
        return self.sender_staff_id or self.sender_id or ""

    @property
    def is_group(self) -> bool:
        return self.conversation_type == "2"


class CardCallback(_Lenient):
    """An interactive card click (Stream topic /v1.0/card/instances/callback)."""

    out_track_id: MessageId = Field(alias="outTrackId")
    user_id: UserId = Field(alias="userId")
    type: str = "actionCallback"
    content: str = "{}"  # a JSON string: {"cardPrivateData": {"actionIds": […], "params": {…}}}


def parse_robot_message(raw: str | bytes) -> RobotMessage:
    """Validate a robot message; ValueError says what is wrong (the callback answers 400)."""
    try:
        message = RobotMessage.model_validate_json(raw)
    except ValidationError as err:
        raise ValueError(_first_problem(err)) from None
    if not message.sender:
        raise ValueError("senderStaffId/senderId: missing")
    if (
        message.sender_corp_id
        and message.chatbot_corp_id
        and message.sender_corp_id != message.chatbot_corp_id
        and message.sender_staff_id
    ):
        # A staff id only means something inside the robot's own organisation.
        raise ValueError("senderCorpId: not the robot's organisation")
    return message


def parse_card_callback(raw: str | bytes) -> CardCallback:
    try:
        return CardCallback.model_validate_json(raw)
    except ValidationError as err:
        raise ValueError(_first_problem(err)) from None


def parse_payload(payload: str) -> RobotMessage | CardCallback:
    """A stored inbox payload: a robot message or a card click. ValueError if neither."""
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON: {err}") from None
    if isinstance(data, dict) and "outTrackId" in data and "msgtype" not in data:
        return parse_card_callback(payload)
    return parse_robot_message(payload)


def to_event(payload: str, *, received_at: datetime) -> Event:
    """A stored inbox payload → Event. Raises ValueError for a payload it cannot read."""
    parsed = parse_payload(payload)
    if isinstance(parsed, CardCallback):
        return card_event(parsed, payload, received_at=received_at)
    return message_event(parsed, received_at=received_at)


def message_event(message: RobotMessage, *, received_at: datetime) -> Event:
    common: dict[str, Any] = {
        "platform": Platform.DINGTALK,
        "message_id": message.msg_id,
        "sender": message.sender,
        "received_at": received_at,
        "conversation_id": message.conversation_id,
        "is_group": message.is_group,
        "raw_type": message.msgtype,
    }
    content = message.content or {}
    match message.msgtype:
        case "text":
            # In groups DingTalk cuts the "@robot" out and leaves the space that followed it.
            text = message.text.content if message.text else ""
            return Event(**common, kind=EventKind.TEXT, text=text.strip())
        case "richText":
            return _rich_text_event(common, content)
        case "picture":
            code = content.get("downloadCode") or content.get("pictureDownloadCode")
            return Event(**common, kind=EventKind.IMAGE, media_id=code)
        case "audio":
            recognition = str(content.get("recognition") or "").strip()
            return Event(
                **common,
                kind=EventKind.VOICE,
                media_id=content.get("downloadCode"),
                media_format=content.get("fileExtension") or "amr",  # DingTalk voice is AMR
                recognition=recognition or None,
            )
        case "file" | "video":
            return Event(
                **common,
                kind=EventKind.FILE,
                media_id=content.get("downloadCode"),
                media_format=message.msgtype,
                text=str(content.get("fileName") or ""),
            )
        case _:  # unknownMsgType, and whatever DingTalk adds next
            return Event(**common, kind=EventKind.UNSUPPORTED)


def _rich_text_event(common: dict[str, Any], content: dict[str, Any]) -> Event:
    parts = content.get("richText") or []
    texts = [str(p["text"]) for p in parts if isinstance(p, dict) and p.get("text")]
    pictures = [p for p in parts if isinstance(p, dict) and p.get("type") == "picture"]
    # In groups a photo with an @ arrives as richText: the words route it, the picture rides along.
    code = (
        (pictures[0].get("downloadCode") or pictures[0].get("pictureDownloadCode"))
        if pictures
        else None
    )
    if texts:
        text = "".join(texts).strip()
        return Event(
            **common,
            kind=EventKind.TEXT,
            text=text,
            media_id=code,
            media_format="image" if code else None,
        )
    if pictures:
        return Event(**common, kind=EventKind.IMAGE, media_id=code)
    return Event(**common, kind=EventKind.UNSUPPORTED)


def card_event(callback: CardCallback, payload: str, *, received_at: datetime) -> Event:
    try:
        content = json.loads(callback.content)
    except json.JSONDecodeError as err:
        raise ValueError(f"card callback content is not JSON: {err}") from None
    params = (content.get("cardPrivateData") or {}).get("params") or {}
    key = params.get("key") if isinstance(params, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise ValueError("card callback without a 'key' param")
    return Event(
        platform=Platform.DINGTALK,
        message_id=card_message_key(payload),
        sender=callback.user_id,
        received_at=received_at,
        kind=EventKind.CARD_ACTION,
        text=key.strip(),
        action=CardAction(key=key.strip(), card_id=callback.out_track_id),
        raw_type="cardCallback",
    )


def card_message_key(payload: str) -> str:
    """Card clicks carry no message id: the same click delivered twice has the same bytes."""
    return CARD_KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:40]


def _first_problem(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"
