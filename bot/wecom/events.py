"""WeCom decrypted XML → the chat model, and the inbox key that makes redeliveries collide."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.parsers.expat import ExpatError

from wechatpy.enterprise import parse_message
from wechatpy.messages import BaseMessage

from handlers.chat import CardAction, Event, EventKind, Platform

# Events a person caused in the chat with the bot. Everything else (subscribe, LOCATION reports
# every few seconds, contact changes) is acknowledged and dropped: answering it would be spam.
# Menu events (view, scan, photo, location pickers) are kept too: each is something a person did.
MENU_EVENTS = frozenset(
    {"view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
     "pic_weixin", "location_select", "view_miniprogram"}
)  # fmt: skip
CARD_EVENTS = frozenset({"template_card_event", "taskcard_click", "template_card_menu_event"})
ANSWERED_EVENTS = frozenset({"enter_agent", "click", *CARD_EVENTS, *MENU_EVENTS})
MAX_KEY_CHARS = 200  # handlers store the message id in String(200) columns
# Field bounds checked before anything is stored (docs/SECURITY.md). WeCom user ids are at most
# 64 characters of letters, digits and "_-.@"; MsgId and AgentID are integers.
FIELD_CHARS = {"Content": 4000, "FromUserName": 100, "ToUserName": 100, "EventKey": 1000}
OTHER_FIELD_CHARS = 2000
_ID = re.compile(r"[\x21-\x7e]{1,100}")
FIELD_PATTERNS = {
    "FromUserName": _ID,
    "ToUserName": _ID,
    "MsgId": re.compile(r"[0-9]{1,30}"),
    "AgentID": re.compile(r"[0-9]{1,20}"),
    "CreateTime": re.compile(r"[0-9]{1,15}"),
    "MsgType": re.compile(r"[a-z_]{1,40}", re.IGNORECASE),
}
MESSAGE_KEY_FIELDS: tuple[str, ...] = ("AgentID", "FromUserName", "MsgId")
EVENT_KEY_FIELDS: tuple[str, ...] = (
    "AgentID",
    "FromUserName",
    "CreateTime",
    "Event",
    "EventKey",
    "TaskId",
    "ResponseCode",
    "ChangeType",
)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decrypted callback: wechatpy's message object and the raw fields it was made from."""

    message: BaseMessage  # UnknownMessage for template_card_event and other newer types
    fields: dict[str, Any]  # copied before any wechatpy descriptor writes defaults into it

    def text(self, name: str) -> str:
        value = self.fields.get(name)
        return value.strip() if isinstance(value, str) else ""

    def nested(self, name: str, key: str) -> str:
        """A field inside a nested element (ScanCodeInfo/ScanResult, SendLocationInfo/Label)."""
        part = self.fields.get(name)
        value = part.get(key) if isinstance(part, dict) else None
        return value.strip() if isinstance(value, str) else ""

    @property
    def msg_type(self) -> str:
        return self.text("MsgType").lower()

    @property
    def event(self) -> str:
        return self.text("Event").lower() if self.msg_type == "event" else ""

    @property
    def is_answered(self) -> bool:
        return self.msg_type != "event" or self.event in ANSWERED_EVENTS


def read_inbound(xml: str) -> Inbound:
    """Parse the decrypted XML with wechatpy; ValueError if it is not a WeCom message."""
    try:
        message = parse_message(xml)
        fields = dict(message._data)  # wechatpy keeps every raw field (unknown types too) here
    except (ExpatError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise ValueError(f"unreadable WeCom message: {err}") from err
    inbound = Inbound(message, fields)
    if not inbound.msg_type or not inbound.text("FromUserName"):
        raise ValueError("WeCom message without MsgType or FromUserName")
    check_fields(inbound)
    return inbound


def check_fields(inbound: Inbound) -> None:
    """Type, length and characters of every field we use; ValueError names the first bad one."""
    for name, value in inbound.fields.items():
        if value is None:
            continue
        # Nested elements (ScanCodeInfo, SendPicsInfo) are dicts: bounded like the rest. The
        # fields we key on must be plain text (a repeated one becomes a list).
        if not isinstance(value, str | int) and (name in FIELD_PATTERNS or name == "Content"):
            raise ValueError(f"{name}: unexpected structure")
        limit = FIELD_CHARS.get(name, OTHER_FIELD_CHARS)
        if len(str(value)) > limit:
            raise ValueError(f"{name}: longer than {limit} characters")
    for name, pattern in FIELD_PATTERNS.items():
        value = inbound.text(name)
        if value and not pattern.fullmatch(value):
            raise ValueError(f"{name}: unexpected characters")


def message_key(inbound: Inbound) -> str:
    """The dedupe key of reference §1.5: MsgId alone collides across users, events per second."""
    if inbound.msg_type != "event" and not inbound.text("MsgId"):
        # Without a MsgId, two different messages would share one key and the second be
        # dropped as a duplicate: the content and time tell them apart, and a redelivery
        # (the same XML again) still collides.
        content = json.dumps(sorted((k, str(v)) for k, v in inbound.fields.items()))
        digest = hashlib.sha256(content.encode()).hexdigest()[:40]
        return f"c|{inbound.text('AgentID')}|{inbound.text('FromUserName')}|{digest}"
    if inbound.msg_type != "event":
        prefix, names = "m", MESSAGE_KEY_FIELDS
    else:
        prefix, names = "e", EVENT_KEY_FIELDS
    key = "|".join([prefix, *(inbound.text(name) for name in names)])
    if len(key) <= MAX_KEY_CHARS:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{prefix}|{inbound.text('AgentID')}|{inbound.text('FromUserName')[:64]}|{digest}"


def to_event(xml: str, *, received_at: datetime) -> Event:
    """A stored inbox payload (the decrypted XML) → Event; ValueError if unreadable."""
    inbound = read_inbound(xml)
    base: dict[str, Any] = {
        "platform": Platform.WECOM,
        "message_id": message_key(inbound),
        "sender": inbound.text("FromUserName"),
        "received_at": received_at,
    }
    match inbound.msg_type:
        case "text":
            return Event(**base, text=inbound.text("Content"), raw_type="text")
        case "voice":
            return Event(
                **base,
                kind=EventKind.VOICE,
                media_id=inbound.text("MediaId") or None,
                media_format=inbound.text("Format").lower() or "amr",
                recognition=inbound.text("Recognition") or None,
                raw_type="voice",
            )
        case "image":
            return Event(
                **base,
                kind=EventKind.IMAGE,
                media_id=inbound.text("MediaId") or None,
                raw_type="image",
            )
        case "event":
            return _event_to_event(inbound, base)
        case "location":  # a place shared in chat: a visit check-in
            return _location(base, inbound.text, raw_type="location")
        case "link":
            title, url = inbound.text("Title"), inbound.text("Url")
            text = "\n".join(p for p in (title, inbound.text("Description"), url) if p)
            return Event(**base, kind=EventKind.LINK, text=text, raw_type="link")
        case "video" | "file":
            return Event(
                **base,
                kind=EventKind.FILE,
                media_id=inbound.text("MediaId") or None,
                media_format=inbound.msg_type,
                text=inbound.text("FileName") or inbound.text("Title"),
                raw_type=inbound.msg_type,
            )
        case other:  # whatever WeCom adds next: answered with "not supported"
            return Event(**base, kind=EventKind.UNSUPPORTED, raw_type=other)


def _location(base: dict[str, Any], field: Any, *, raw_type: str) -> Event:
    label = field("Label") or field("Poiname")
    return Event(
        **base,
        kind=EventKind.LOCATION,
        text=label,
        latitude=_float(field("Location_X")),
        longitude=_float(field("Location_Y")),
        raw_type=raw_type,
    )


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _event_to_event(inbound: Inbound, base: dict[str, Any]) -> Event:
    name = inbound.event
    raw_type = f"event:{name}"
    key = inbound.text("EventKey")
    if name in CARD_EVENTS and key:
        action = CardAction(
            key=key,
            card_id=inbound.text("TaskId"),
            response_code=inbound.text("ResponseCode") or None,
        )
        return Event(**base, kind=EventKind.CARD_ACTION, text=key, action=action, raw_type=raw_type)
    if name == "click" and key:  # an app menu item: its key is a typed command, like a button's
        return Event(**base, text=key, raw_type=raw_type)
    if name == "enter_agent":
        return Event(**base, kind=EventKind.ENTER, raw_type=raw_type)
    if name in ("scancode_push", "scancode_waitmsg"):  # the scanned text, as if typed
        scanned = inbound.nested("ScanCodeInfo", "ScanResult")
        return Event(**base, text=scanned, raw_type=raw_type)
    if name == "location_select":
        return _location(base, lambda k: inbound.nested("SendLocationInfo", k), raw_type=raw_type)
    if name in MENU_EVENTS:  # opened a page, or pictures that arrive as image messages next
        return Event(**base, kind=EventKind.ENTER, raw_type=raw_type)
    return Event(**base, kind=EventKind.UNSUPPORTED, raw_type=raw_type)
