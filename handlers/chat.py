"""The chat model adapters translate to and from: Event in; Reply, Card, Image and Push out."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Platform(StrEnum):
    WECOM = "wecom"
    WECOM_BOT = "wecom_bot"  # the 智能机器人 over its long connection; same userids as the app
    DINGTALK = "dingtalk"
    SHELL = "shell"


class EventKind(StrEnum):
    TEXT = "text"
    VOICE = "voice"
    IMAGE = "image"
    CARD_ACTION = "card_action"  # a button on one of our cards was pressed
    ENTER = "enter"  # the user opened the chat with the bot
    FILE = "file"  # a file or a video: media_id to fetch it, text its file name
    LOCATION = "location"  # a place shared in chat: text its label, latitude/longitude
    LINK = "link"  # a shared link: text its title and URL
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True)
class CardAction:
    key: str  # the button's key: a typed command, e.g. "accept 12"
    card_id: str  # the card's id (WeCom task_id, DingTalk outTrackId)
    response_code: str | None = None  # WeCom: single-use code to update the card in place


@dataclass(frozen=True, slots=True)
class Event:
    platform: Platform
    message_id: str  # the platform's id, our idempotency key
    sender: str  # platform user id; the router maps it to a User row
    received_at: datetime  # aware, UTC
    kind: EventKind = EventKind.TEXT
    text: str = ""
    media_id: str | None = None  # voice/image: what the adapter needs to download it
    media_format: str | None = None
    recognition: str | None = None  # the platform's own speech recognition, if it sent one
    action: CardAction | None = None
    latitude: float | None = None  # LOCATION
    longitude: float | None = None
    conversation_id: str | None = None  # group chats
    is_group: bool = False
    raw_type: str = ""  # the platform's message type, for "unsupported" answers and logs


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    markdown: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    key: str  # a typed command the click stands for ("accept 12"): one handler for both
    label: str
    style: int = 1  # 1 primary, 2 secondary (WeCom's button styles)


@dataclass(frozen=True, slots=True)
class Card:
    card_id: str  # stable id: WeCom task_id / DingTalk outTrackId, e.g. "task-12-1"
    title: str
    lines: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()
    source: str = "salesbot"


@dataclass(frozen=True, slots=True)
class CardUpdate:
    """Turn a clicked card's buttons into a done label ("已接受 ✓")."""

    card_id: str
    label: str
    response_code: str | None = None


@dataclass(frozen=True, slots=True)
class Image:
    png: bytes
    caption: str = ""


Message = Reply | Card | CardUpdate | Image


class RecipientKind(StrEnum):
    USER = "user"  # a user's private chat with the bot
    TEAM = "team"  # a team's alert group chat


@dataclass(frozen=True, slots=True)
class Push:
    """A message to somebody other than the sender (a rep, a manager's group)."""

    kind: RecipientKind
    recipient_id: int  # users.id or teams.id
    message: Message
    urgent: bool = False  # urgent pushes ignore quiet hours and coalescing
    mention_user_ids: tuple[int, ...] = ()  # group pushes: @ these users
    dedupe_key: str | None = None


Outgoing = Reply | Card | CardUpdate | Image | Push


@dataclass(frozen=True, slots=True)
class Transcribed:
    """What the voice worker hands the handlers: a voice event's text and how it was made."""

    text: str
    duration_s: float
    engine: str
    model: str
    timings: dict[str, float] = field(default_factory=dict)


def message_to_payload(message: Message, *, mention: tuple[str, ...] = ()) -> dict[str, Any]:
    """Serialize a message for the outbox (JSON); `mention` holds platform user ids to @."""
    payload: dict[str, Any]
    match message:
        case Reply(text=text, markdown=markdown):
            payload = {"type": "text", "text": text, "markdown": markdown}
        case Card(card_id=card_id, title=title, lines=lines, buttons=buttons, source=source):
            payload = {
                "type": "card",
                "card_id": card_id,
                "title": title,
                "lines": list(lines),
                "buttons": [{"key": b.key, "label": b.label, "style": b.style} for b in buttons],
                "source": source,
            }
        case CardUpdate(card_id=card_id, label=label, response_code=code):
            payload = {
                "type": "card_update",
                "card_id": card_id,
                "label": label,
                "response_code": code,
            }
        case Image(png=png, caption=caption):
            payload = {
                "type": "image",
                "png_b64": base64.b64encode(png).decode(),
                "caption": caption,
            }
    if mention:
        payload["mention"] = list(mention)
    return payload


def message_from_payload(payload: dict[str, Any]) -> Message:
    kind = payload["type"]
    if kind == "text":
        return Reply(payload["text"], markdown=bool(payload.get("markdown")))
    if kind == "card":
        buttons = tuple(Button(b["key"], b["label"], b.get("style", 1)) for b in payload["buttons"])
        return Card(
            payload["card_id"],
            payload["title"],
            tuple(payload["lines"]),
            buttons,
            payload.get("source", "salesbot"),
        )
    if kind == "card_update":
        return CardUpdate(payload["card_id"], payload["label"], payload.get("response_code"))
    if kind == "image":
        return Image(base64.b64decode(payload["png_b64"]), payload.get("caption", ""))
    raise ValueError(f"unknown outbox payload type {kind!r}")


def message_as_text(message: Message) -> str:
    """A plain-text rendering (the shell, logs, platforms without cards)."""
    match message:
        case Reply(text=text):
            return text
        case Card(title=title, lines=lines, buttons=buttons):
            shown = [f"【{title}】", *lines]
            if buttons:
                shown.append("  ".join(f"[{b.label}: 回复「{b.key}」]" for b in buttons))
            return "\n".join(shown)
        case CardUpdate(label=label):
            return f"(卡片已更新：{label})"
        case Image(caption=caption, png=png):
            return f"[图片 {len(png)} 字节] {caption}".rstrip()
