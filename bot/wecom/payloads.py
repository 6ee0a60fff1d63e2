"""Our messages → WeCom JSON: app messages and cards, card updates, robot and appchat bodies."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from handlers.chat import Card, CardUpdate, Reply, message_as_text

TEXT_MAX_BYTES = 2048  # app text, app markdown and robot text
ROBOT_MARKDOWN_MAX_BYTES = 4096
ROBOT_IMAGE_MAX_BYTES = 2 * 1024 * 1024
TITLE_MAX_CHARS = 36
SUBTITLE_MAX_CHARS = 160
BUTTON_LABEL_MAX_CHARS = 10
MAX_BUTTONS = 6
TASK_ID_MAX_BYTES = 128
# WeCom drops a message whose request JSON equals one sent in the last interval. That makes a
# retried outbox row safe, but at the default 1800 s it also swallows a second, identical answer
# to a repeated command ("任务" twice in half an hour). Five minutes covers our retries.
DUPLICATE_CHECK_S = 300
DUPLICATE_CHECK = {"enable_duplicate_check": 1, "duplicate_check_interval": DUPLICATE_CHECK_S}
_NOT_IN_TASK_ID = re.compile(r"[^0-9A-Za-z_\-@]")


def truncate_bytes(text: str, max_bytes: int) -> str:
    """Cut to at most max_bytes of UTF-8 on a character boundary, marked with an ellipsis."""
    if len(text.encode()) <= max_bytes:
        return text
    cut = text.encode()[: max_bytes - len("…".encode())].decode(errors="ignore")
    return cut + "…"


def truncate_chars(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def task_id_for(card_id: str, outbox_id: int) -> str:
    """Unique per send (a reused task_id is refused with 42014) and the same on a retried row."""
    suffix = f"@{outbox_id}"
    safe = _NOT_IN_TASK_ID.sub("_", card_id)[: TASK_ID_MAX_BYTES - len(suffix)]
    return safe + suffix


def app_message(
    agent_id: int, touser: str, message: Reply | Card, *, outbox_id: int
) -> dict[str, Any]:
    """message/send to one member: text, markdown or a button_interaction template card."""
    body: dict[str, Any] = {"touser": touser, "agentid": agent_id, **DUPLICATE_CHECK}
    match message:
        case Reply(text=text, markdown=True):
            body |= {
                "msgtype": "markdown",
                "markdown": {"content": truncate_bytes(text, TEXT_MAX_BYTES)},
            }
        case Reply(text=text):
            body |= {"msgtype": "text", "text": {"content": truncate_bytes(text, TEXT_MAX_BYTES)}}
        case Card():
            body |= {"msgtype": "template_card", "template_card": button_card(message, outbox_id)}
    return body


def app_image(agent_id: int, touser: str, media_id: str) -> dict[str, Any]:
    return {
        "touser": touser,
        "agentid": agent_id,
        **DUPLICATE_CHECK,
        "msgtype": "image",
        "image": {"media_id": media_id},
    }


def button_card(card: Card, outbox_id: int) -> dict[str, Any]:
    """A button_interaction card; each button's key is the typed command it stands for."""
    template: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": card.source},
        "main_title": {"title": truncate_chars(card.title, TITLE_MAX_CHARS)},
        "task_id": task_id_for(card.card_id, outbox_id),
        "button_list": [
            {
                "text": truncate_chars(button.label, BUTTON_LABEL_MAX_CHARS),
                "style": button.style if 1 <= button.style <= 4 else 1,
                "key": button.key,
            }
            for button in card.buttons[:MAX_BUTTONS]
        ],
    }
    if card.lines:
        template["sub_title_text"] = truncate_chars("\n".join(card.lines), SUBTITLE_MAX_CHARS)
    return template


def card_update(agent_id: int, userid: str, update: CardUpdate) -> dict[str, Any]:
    """update_template_card: grey out the clicked card's buttons under one label."""
    return {
        "userids": [userid],
        "agentid": agent_id,
        "response_code": update.response_code,
        "button": {"replace_name": truncate_chars(update.label, BUTTON_LABEL_MAX_CHARS)},
    }


def robot_text(message: Reply | Card, mention: tuple[str, ...]) -> dict[str, Any]:
    """A group robot text or markdown; cards become text (robots send no button callbacks)."""
    if isinstance(message, Reply) and message.markdown:
        tags = "".join(f"<@{userid}>" for userid in mention)
        content = message.text + (f"\n{tags}" if tags else "")
        content = truncate_bytes(content, ROBOT_MARKDOWN_MAX_BYTES)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    text: dict[str, Any] = {"content": truncate_bytes(message_as_text(message), TEXT_MAX_BYTES)}
    if mention:
        text["mentioned_list"] = list(mention)
    return {"msgtype": "text", "text": text}


def robot_image(png: bytes) -> dict[str, Any]:
    """A group robot image: base64 of the raw bytes and their md5 (≤ 2 MB)."""
    if len(png) > ROBOT_IMAGE_MAX_BYTES:
        raise ValueError(f"image of {len(png)} bytes exceeds the robot's 2 MB")
    md5 = hashlib.md5(png).hexdigest()  # noqa: S324 - WeCom's integrity field, not security
    return {"msgtype": "image", "image": {"base64": base64.b64encode(png).decode(), "md5": md5}}


def appchat_text(chatid: str, message: Reply | Card) -> dict[str, Any]:
    """appchat/send: text or markdown (cards as text; mentions are not possible here)."""
    if isinstance(message, Reply) and message.markdown:
        content = truncate_bytes(message.text, TEXT_MAX_BYTES)
        return {
            "chatid": chatid,
            "msgtype": "markdown",
            "markdown": {"content": content},
            "safe": 0,
        }
    content = truncate_bytes(message_as_text(message), TEXT_MAX_BYTES)
    return {"chatid": chatid, "msgtype": "text", "text": {"content": content}, "safe": 0}


def appchat_image(chatid: str, media_id: str) -> dict[str, Any]:
    return {"chatid": chatid, "msgtype": "image", "image": {"media_id": media_id}, "safe": 0}
