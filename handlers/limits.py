"""Bounds on one message: control characters out, and a note-length limit before any work."""

from __future__ import annotations

import dataclasses
import re

from handlers.chat import Event
from handlers.errors import UserError

DEFAULT_MAX_NOTE_CHARS = 2000  # SALESBOT_MAX_NOTE_CHARS; a spoken minute is ~250 characters
# C0/C1 controls except tab and newline: PostgreSQL refuses NUL in text, the rest is noise.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """The text without control characters (a carriage return becomes a newline)."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def cleaned(event: Event) -> Event:
    """The event with its text cleaned; the same object when there was nothing to clean."""
    text = clean_text(event.text)
    return event if text == event.text else dataclasses.replace(event, text=text)


class NoteTooLong(UserError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"这条消息有 {length} 个字，超过了 {limit} 字的上限，没有记录。请分成几条发送",
            example="跟进 启明科技 电话确认了试用安排，下周三前给反馈",
        )


def check_note_length(text: str, limit: int) -> None:
    """Refuse a message longer than `limit` characters before anything reads or stores it."""
    if len(text) > limit:
        raise NoteTooLong(len(text), limit)
