"""Messages that fit every platform's documented limits: split, never cut, buttons kept.

The limits are the strictest of the platforms we send to (handlers never know which one a
message will take):
- WeCom app template card (button_interaction, message/send, document 90372/90236):
  main_title.title ≤ 36 characters, main_title.desc ≤ 44, sub_title_text ≤ 160,
  horizontal_content_list ≤ 6 items (keyname ≤ 5, value ≤ 30), button_list ≤ 6, button text ≤ 10;
  task_id ≤ 128 bytes. Longer text is cut by WeCom.
- WeCom text and markdown (app message, group robot text): content ≤ 2048 bytes of UTF-8.
  Group robot markdown ≤ 4096 bytes.
- DingTalk robot API (sampleMarkdown / sampleText): msgParam ≤ 15,000 bytes; custom robot and
  sessionWebhook bodies ≤ 20,000 bytes (errcode 460101).
A card whose text is too long becomes several cards (each with the same buttons, titled
"（2/3）"); a text too long becomes several texts. Breaks fall at a line end, else after
punctuation, else at a space, else between two characters that are not both part of a Latin
word or a number (Chinese has no spaces; codes like C-20260305-001 and A12 stay whole).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from handlers.chat import Button, Card, Message, Outgoing, Push, Reply

WECOM_CARD_TITLE_CHARS = 36
WECOM_CARD_DESC_CHARS = 44
WECOM_CARD_TEXT_CHARS = 160
WECOM_CARD_BUTTONS = 6
WECOM_BUTTON_CHARS = 10
WECOM_TEXT_BYTES = 2048
WECOM_ROBOT_MARKDOWN_BYTES = 4096
DINGTALK_MSGPARAM_BYTES = 15_000
DINGTALK_WEBHOOK_BYTES = 20_000

TEXT_BYTES = WECOM_TEXT_BYTES  # the strictest text limit
PART_MARK = "（{n}/{total}）"
_STRONG = "\n"
_SENTENCE = "。！？；!?;"
_CLAUSE = "，、：,:）)」』》】"
_WORD = re.compile(r"[0-9A-Za-z_\-.@#:/]")


def utf8_len(text: str) -> int:
    return len(text.encode())


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Pieces of `text`, each measuring at most `limit`, broken at the best boundary."""
    pieces: list[str] = []
    rest = text
    while measure(rest) > limit:
        cut = _best_break(rest, limit, measure)
        head, rest = rest[:cut].rstrip(" \n"), rest[cut:].lstrip(" \n")
        if head:
            pieces.append(head)
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _best_break(text: str, limit: int, measure: Callable[[str], int]) -> int:
    """The longest prefix within `limit` that ends at the strongest kind of boundary."""
    fits = 0
    while fits < len(text) and measure(text[: fits + 1]) <= limit:
        fits += 1
    fits = max(fits, 1)
    window = text[:fits]
    if fits < len(text) and text[fits] == "\n":
        return fits
    for marks in (_STRONG, _SENTENCE, _CLAUSE, " "):
        at = max(window.rfind(m) for m in marks)
        if at > 0:
            return at + 1 if marks != _STRONG else at
    for at in range(fits, 0, -1):  # between two characters not both inside a word or number
        if at < len(text) and not (_WORD.match(text[at - 1]) and _WORD.match(text[at])):
            return at
    return fits


def fit_card(card: Card) -> list[Card]:
    """One card, or several that each fit a WeCom template card; every part keeps the buttons."""
    buttons = _fit_buttons(card.buttons)
    lines: list[str] = []
    for line in card.lines:
        lines += split_text(line, WECOM_CARD_TEXT_CHARS)
    groups: list[list[str]] = [[]]
    for line in lines:
        joined = "\n".join([*groups[-1], line])
        if groups[-1] and len(joined) > WECOM_CARD_TEXT_CHARS:
            groups.append([line])
        else:
            groups[-1].append(line)
    total = len(groups)
    out: list[Card] = []
    for n, group in enumerate(groups, 1):
        mark = PART_MARK.format(n=n, total=total) if total > 1 else ""
        title = _fit_title(card.title, WECOM_CARD_TITLE_CHARS - len(mark)) + mark
        card_id = card.card_id if n == 1 else f"{card.card_id}-p{n}"
        out.append(replace(card, card_id=card_id, title=title, lines=tuple(group), buttons=buttons))
    return out


def _fit_title(title: str, limit: int) -> str:
    """A title is a name, not prose: keep its first whole piece that fits."""
    return split_text(title, limit)[0]


def _fit_buttons(buttons: Sequence[Button]) -> tuple[Button, ...]:
    kept = tuple(buttons[:WECOM_CARD_BUTTONS])
    return tuple(
        b if len(b.label) <= WECOM_BUTTON_CHARS else replace(b, label=_fit_title(b.label, 10))
        for b in kept
    )


def fit_reply(reply: Reply) -> list[Reply]:
    """A text within every platform's text limit, split at line ends where it is longer."""
    pieces = split_text(reply.text, TEXT_BYTES, utf8_len)
    return [replace(reply, text=piece) for piece in pieces]


def fit_message(message: Message) -> list[Message]:
    match message:
        case Card():
            return list(fit_card(message))
        case Reply():
            return list(fit_reply(message))
    return [message]


def fit_outgoing(items: Sequence[Outgoing]) -> list[Outgoing]:
    """Every answer and push within the platforms' limits; a split push keeps its dedupe key
    per part (the first part keeps the original, so a re-sent row is still recognised)."""
    out: list[Outgoing] = []
    for item in items:
        if isinstance(item, Push):
            parts = fit_message(item.message)
            for n, part in enumerate(parts, 1):
                key = item.dedupe_key
                if n > 1 and key is not None:
                    key = f"{key}#p{n}"
                out.append(replace(item, message=part, dedupe_key=key))
        else:
            out += fit_message(item)
    return out
