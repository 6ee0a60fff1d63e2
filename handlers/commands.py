"""A chat line → command word and arguments; the resolved sender comes with it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from handlers.chat import CardUpdate, Event, Outgoing
from storage.models import User

_SPACES = re.compile(r"[\s\u3000]+")


@dataclass(frozen=True, slots=True)
class Command:
    event: Event
    user: User
    word: str  # the canonical (Chinese) command word
    rest: str  # everything after the word, stripped

    def args(self, maxsplit: int = 0) -> list[str]:
        return split_args(self.rest, maxsplit)

    def with_card_update(self, replies: list[Outgoing], label: str) -> list[Outgoing]:
        """A click on a card button: the card shows the outcome in place."""
        action = self.event.action
        if action is None or not label:
            return replies
        return [CardUpdate(action.card_id, label, action.response_code), *replies]


def split_args(text: str, maxsplit: int = 0) -> list[str]:
    """Words split on any spaces; maxsplit as in re.split (0: split them all)."""
    text = text.strip()
    return _SPACES.split(text, maxsplit=maxsplit) if text else []


def normalize(text: str) -> str:
    """Full-width spaces and stray punctuation around the text are the chat's, not the user's."""
    return text.replace("\u3000", " ").strip().strip("。.").strip()


def match_word(text: str, words: Iterable[str], aliases: dict[str, str]) -> tuple[str, str] | None:
    """The command word a line starts with, and the rest; Chinese words need no space after them."""
    text = normalize(text)
    if not text:
        return None
    first, _, rest = text.partition(" ")
    lowered = first.lower()
    if lowered in aliases:
        return aliases[lowered], rest.strip()
    if first in words:
        return first, rest.strip()
    # "跟进启明科技 …": longest Chinese command word that prefixes the line
    for word in sorted(words, key=len, reverse=True):
        if not word.isascii() and text.startswith(word):
            return word, text[len(word) :].strip()
    return None
