"""Our messages → DingTalk JSON: robot-API msgKey/msgParam, and webhook bodies (session, custom)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from handlers.chat import Card, CardUpdate, Image, Message, Reply

LINK_BACK = "dtmd://dingtalkclient/sendMessage?content="
TITLE_CHARS = 30  # the chat list preview; DingTalk cuts longer titles anyway


def command_link(key: str) -> str:
    """A link that makes the DingTalk client send `key` as the user's own message in this chat.

    It works in markdown text (not in ActionCard buttons), so a click arrives as the typed
    command and goes to the same handler.
    """
    return LINK_BACK + quote(key, safe="")


def card_markdown(card: Card, *, in_group: bool) -> str:
    parts = [f"#### {card.title}", *card.lines]
    if card.buttons and in_group:
        # A link-back in a group posts the text without @robot, and groups deliver only
        # messages that @ the robot: tell people what to type instead.
        parts.append("　".join(f"@我并回复「{b.key}」{b.label}" for b in card.buttons))
    elif card.buttons:
        parts.append("　　".join(f"**[{b.label}]({command_link(b.key)})**" for b in card.buttons))
    return "\n\n".join(parts)


def robot_message(message: Message, *, in_group: bool) -> tuple[str, dict[str, str]]:
    """(msgKey, msgParam) for oToMessages/batchSend and groupMessages/send (not images)."""
    match message:
        case Reply(text=text, markdown=True):
            return "sampleMarkdown", {"title": _title(text), "text": text}
        case Reply(text=text):
            return "sampleText", {"content": text}
        case Card() as card:
            return "sampleMarkdown", {
                "title": card.title,
                "text": card_markdown(card, in_group=in_group),
            }
        case CardUpdate(label=label):
            # sampleMarkdown messages cannot be edited after sending: confirm with a short text.
            return "sampleText", {"content": label}
        case Image():
            raise ValueError("images go through media upload and sampleImageMsg")
    raise ValueError(f"unknown message {type(message).__name__}")


def image_message(media_id: str) -> tuple[str, dict[str, str]]:
    return "sampleImageMsg", {"photoURL": media_id}


def webhook_body(message: Message, *, in_group: bool, at_user_ids: list[str]) -> dict[str, Any]:
    """A sessionWebhook / custom robot body; @-mentions must also appear in the text to show."""
    mentions = "".join(f" @{uid}" for uid in at_user_ids)
    match message:
        case Reply(text=text, markdown=True):
            body: dict[str, Any] = {
                "msgtype": "markdown",
                "markdown": {"title": _title(text), "text": text + mentions},
            }
        case Reply(text=text) | CardUpdate(label=text):
            body = {"msgtype": "text", "text": {"content": text + mentions}}
        case Card() as card:
            text = card_markdown(card, in_group=in_group) + mentions
            body = {"msgtype": "markdown", "markdown": {"title": card.title, "text": text}}
        case Image(caption=caption):
            # Webhooks cannot upload media: send the caption so the push is not silently lost.
            content = (caption or "图表") + "（群机器人不能发送图片）"
            body = {"msgtype": "text", "text": {"content": content + mentions}}
    if at_user_ids:
        body["at"] = {"atUserIds": at_user_ids, "isAtAll": False}
    return body


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "salesbot"
    return first.lstrip("#> ").strip()[:TITLE_CHARS] or "salesbot"
