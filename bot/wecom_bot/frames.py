"""WeCom 智能机器人 long-connection frames: a stored callback frame → Event; our messages → bodies.

Frame shape (developer doc 101463 and WeCom's SDKs, WecomTeam/aibot-node-sdk src/types):
`{"cmd": ..., "headers": {"req_id": ...}, "body": {...}}`; answers to our frames carry the same
req_id and `errcode`/`errmsg`. The callback body has `msgid` (the dedupe key), `aibotid`,
`chatid` (groups only), `chattype` single|group, `from.userid`, `msgtype` and a part per type.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from handlers.chat import (
    Card,
    CardAction,
    CardUpdate,
    Event,
    EventKind,
    Platform,
    Reply,
    message_as_text,
)

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
SEND = "aibot_send_msg"
DISCONNECTED = "disconnected_event"

MARKDOWN_MAX_BYTES = 20480  # a stream/markdown content's limit in the SDK's reply docs
TITLE_MAX_CHARS = 36
SUBTITLE_MAX_CHARS = 160
BUTTON_LABEL_MAX_CHARS = 10
MAX_BUTTONS = 6
_MENTION = re.compile(r"^(?:@\S+\s*)+")
_NOT_IN_TASK_ID = re.compile(r"[^0-9A-Za-z_\-@]")


def callback_key(frame: dict[str, Any]) -> str:
    """The inbox key of a callback frame (its body's msgid); ValueError if it has none."""
    body = frame.get("body")
    msgid = body.get("msgid") if isinstance(body, dict) else None
    if not isinstance(msgid, str) or not msgid:
        raise ValueError("callback frame without body.msgid")
    return msgid


def is_disconnected_event(frame: dict[str, Any]) -> bool:
    body = frame.get("body")
    event = body.get("event") if isinstance(body, dict) else None
    return isinstance(event, dict) and event.get("eventtype") == DISCONNECTED


def to_event(payload: str, *, received_at: datetime) -> Event:
    """A stored callback frame → Event; ValueError for one that cannot be read."""
    try:
        frame = json.loads(payload)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON: {err}") from err
    if not isinstance(frame, dict) or not isinstance(frame.get("body"), dict):
        raise ValueError("frame without a body")
    body: dict[str, Any] = frame["body"]
    sender = str((body.get("from") or {}).get("userid") or "")
    if not sender:
        raise ValueError("callback without from.userid")
    is_group = body.get("chattype") == "group"
    base: dict[str, Any] = {
        "platform": Platform.WECOM_BOT,
        "message_id": callback_key(frame),
        "sender": sender,
        "received_at": _created(body, received_at),
        "conversation_id": str(body.get("chatid") or "") or None,
        "is_group": is_group,
        "raw_type": str(body.get("msgtype") or ""),
    }
    if frame.get("cmd") == EVENT_CALLBACK or body.get("msgtype") == "event":
        return _event(body, base, req_id=str((frame.get("headers") or {}).get("req_id") or ""))
    return _message(body, base)


def _created(body: dict[str, Any], received_at: datetime) -> datetime:
    created = body.get("create_time")
    if isinstance(created, int | float) and created > 0:
        stamp = created / 1000 if created > 1e12 else created  # ms in some frames
        return datetime.fromtimestamp(stamp, tz=UTC)
    return received_at


def _message(body: dict[str, Any], base: dict[str, Any]) -> Event:
    kind = body.get("msgtype")
    part = body.get(str(kind)) if isinstance(kind, str) else None
    part = part if isinstance(part, dict) else {}
    if kind == "text":
        text = str(part.get("content") or "")
        return Event(**base, kind=EventKind.TEXT, text=_strip_mention(text, base["is_group"]))
    if kind == "voice":  # the long connection carries the recognised text, not the audio
        text = str(part.get("content") or "").strip()
        return Event(**base, kind=EventKind.VOICE, recognition=text or None, media_format="amr")
    if kind in ("image", "file", "video"):
        # The media id is the message's own: its url and key stay in the stored frame (a task's
        # evidence column holds 200 characters; a url alone can be longer).
        media = base["message_id"] if media_ref(part) else None
        event_kind = EventKind.IMAGE if kind == "image" else EventKind.FILE
        name = str(part.get("filename") or part.get("file_name") or "")
        return Event(**base, kind=event_kind, media_id=media, media_format=kind, text=name)
    if kind == "mixed":
        texts, media = [], None
        for item in part.get("msg_item") or []:
            if not isinstance(item, dict):
                continue
            if item.get("msgtype") == "text":
                texts.append(str((item.get("text") or {}).get("content") or ""))
            elif item.get("msgtype") == "image" and media is None:
                media = base["message_id"] if media_ref(item.get("image") or {}) else None
        text = _strip_mention(" ".join(t for t in texts if t).strip(), base["is_group"])
        if text:  # the words decide what it is; the first picture rides along as evidence
            return Event(
                **base, kind=EventKind.TEXT, text=text, media_id=media, media_format="image"
            )
        return Event(**base, kind=EventKind.IMAGE, media_id=media, media_format="image")
    return Event(**base, kind=EventKind.UNSUPPORTED)


def _event(body: dict[str, Any], base: dict[str, Any], *, req_id: str) -> Event:
    found = body.get("event")
    event: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = str(event.get("eventtype") or "")
    base = base | {"raw_type": f"event:{kind}"}
    if kind == "enter_chat":
        return Event(**base, kind=EventKind.ENTER)
    if kind == "template_card_event":
        # The SDKs read event.event_key / event.task_id; the webhook form nests them one deeper.
        inner = event.get("template_card_event")
        source: dict[str, Any] = inner if isinstance(inner, dict) else event
        key = str(source.get("event_key") or "")
        card_id = str(source.get("task_id") or "")
        if not key:
            raise ValueError("template_card_event without event_key")
        # The update must answer this frame's req_id (within 5 s, per the SDKs' docs).
        action = CardAction(key=key, card_id=card_id, response_code=req_id or None)
        return Event(**base, kind=EventKind.CARD_ACTION, text=key, action=action)
    return Event(**base, kind=EventKind.UNSUPPORTED)


def media_of(payload: str) -> str | None:
    """The first picture/file/video's media_ref in a stored frame."""
    body = json.loads(payload).get("body") or {}
    kind = body.get("msgtype")
    if kind == "mixed":
        for item in (body.get("mixed") or {}).get("msg_item") or []:
            if isinstance(item, dict) and item.get("msgtype") == "image":
                return media_ref(item.get("image") or {})
        return None
    part = body.get(kind) if isinstance(kind, str) else None
    return media_ref(part) if isinstance(part, dict) else None


def media_ref(part: dict[str, Any]) -> str | None:
    """What download_media needs: the (5-minute) url and the per-file AES key, as JSON."""
    url = part.get("url")
    if not isinstance(url, str) or not url:
        return None
    return json.dumps({"url": url, "aeskey": part.get("aeskey") or ""})


def _strip_mention(text: str, is_group: bool) -> str:
    return _MENTION.sub("", text).strip() if is_group else text.strip()


def message_body(message: Reply | Card, *, outbox_id: int) -> dict[str, Any]:
    """An aibot_send_msg body without its chatid: markdown, or a button card."""
    if isinstance(message, Card):
        return {"msgtype": "template_card", "template_card": button_card(message, outbox_id)}
    text = message.text if message.markdown else message_as_text(message)
    return {"msgtype": "markdown", "markdown": {"content": truncate_bytes(text)}}


def stream_body(text: str, *, stream_id: str) -> dict[str, Any]:
    """A finished stream reply: the form the doc prescribes for answering a message frame."""
    content = truncate_bytes(text)
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": content}}


def button_card(card: Card, outbox_id: int) -> dict[str, Any]:
    template: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": card.source},
        "main_title": {"title": _chars(card.title, TITLE_MAX_CHARS)},
        "task_id": task_id_for(card.card_id, outbox_id),
        "button_list": [
            {
                "text": _chars(button.label, BUTTON_LABEL_MAX_CHARS),
                "style": button.style if 1 <= button.style <= 4 else 1,
                "key": button.key,
            }
            for button in card.buttons[:MAX_BUTTONS]
        ],
    }
    if card.lines:
        template["sub_title_text"] = _chars("\n".join(card.lines), SUBTITLE_MAX_CHARS)
    return template


def update_body(update: CardUpdate) -> dict[str, Any]:
    """aibot_respond_update_msg: the clicked card becomes a notice with the done label."""
    return {
        "response_type": "update_template_card",
        "template_card": {
            "card_type": "text_notice",
            "main_title": {"title": _chars(update.label, TITLE_MAX_CHARS)},
            "task_id": update.card_id,
        },
    }


def task_id_for(card_id: str, outbox_id: int) -> str:
    suffix = f"@{outbox_id}"
    return _NOT_IN_TASK_ID.sub("_", card_id)[: 128 - len(suffix)] + suffix


def truncate_bytes(text: str, max_bytes: int = MARKDOWN_MAX_BYTES) -> str:
    if len(text.encode()) <= max_bytes:
        return text
    return text.encode()[: max_bytes - 3].decode(errors="ignore") + "…"


def _chars(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
