"""Cards and texts at the platforms' real limits: split, never cut, buttons on every part."""

from __future__ import annotations

import json

from bot.dingtalk.payloads import card_markdown, robot_message, webhook_body
from bot.wecom.payloads import app_message, button_card
from handlers.card_fit import (
    DINGTALK_MSGPARAM_BYTES,
    WECOM_CARD_TEXT_CHARS,
    WECOM_CARD_TITLE_CHARS,
    WECOM_TEXT_BYTES,
    fit_card,
    fit_outgoing,
    split_text,
)
from handlers.chat import Button, Card, Push, RecipientKind, Reply

BUTTONS = (
    Button("处理 A12", "处理"),
    Button("稍后提醒 A12 2小时", "稍后提醒"),
    Button("为什么 A12", "为什么"),
)


def card(title: str, *lines: str, buttons: tuple[Button, ...] = BUTTONS) -> Card:
    return Card("alert-12-user-3", title, tuple(lines), buttons)


def test_a_card_exactly_at_the_limits_is_sent_as_it_is() -> None:
    title = "甲" * WECOM_CARD_TITLE_CHARS
    lines = ("乙" * 79, "丙" * 80)  # 79 + newline + 80 = 160
    [same] = fit_card(card(title, *lines))
    assert (same.title, same.lines, same.buttons) == (title, lines, BUTTONS)
    body = button_card(same, outbox_id=1)
    assert body["main_title"]["title"] == title
    assert body["sub_title_text"] == "\n".join(lines)


def test_one_character_more_makes_two_cards_each_with_the_buttons() -> None:
    lines = ("乙" * 79, "丙" * 81)
    parts = fit_card(card("浙一医院·客户停滞·预警", *lines))
    assert [p.title for p in parts] == [
        "浙一医院·客户停滞·预警（1/2）",
        "浙一医院·客户停滞·预警（2/2）",
    ]
    assert [p.lines for p in parts] == [(lines[0],), (lines[1],)]
    assert all(p.buttons == BUTTONS for p in parts)
    assert len({p.card_id for p in parts}) == 2  # WeCom refuses a reused task_id


def test_a_long_line_breaks_after_punctuation_and_never_inside_a_code() -> None:
    sentence = "对浙一医院的承诺 C-20260305-001 已经过了 2 天，请尽快处理。"
    text = sentence * 8
    parts = fit_card(card("承诺到期", text))
    assert len(parts) > 1
    shown = [line for p in parts for line in p.lines]
    assert sum(line.count("C-20260305-001") for line in shown) == 8  # no code cut in two
    assert "".join(shown).replace(" ", "") == text.replace(" ", "")  # nothing lost
    for p in parts:
        assert len("\n".join(p.lines)) <= WECOM_CARD_TEXT_CHARS
        assert all(line.endswith(("。", "，")) for line in p.lines)


def test_more_buttons_than_wecom_takes_keep_the_first_six() -> None:
    many = tuple(Button(f"b{n}", f"按钮{n}") for n in range(8))
    [part] = fit_card(card("标题", "一行", buttons=many))
    assert part.buttons == many[:6]
    assert len(button_card(part, outbox_id=1)["button_list"]) == 6


def test_a_long_text_is_split_at_line_ends_within_2048_bytes() -> None:
    lines = [
        f"{n:02d}. 杭州启明科技有限公司：承诺「发正式报价」（王磊，截止 3月11日）"
        for n in range(60)
    ]
    text = "\n".join(lines)
    assert len(text.encode()) > 2 * WECOM_TEXT_BYTES
    parts = fit_outgoing([Push(RecipientKind.USER, 3, Reply(text), dedupe_key="k")])
    assert len(parts) >= 3
    pieces = [p.message.text for p in parts]  # type: ignore[union-attr]
    assert "\n".join(pieces) == text
    assert all(len(p.encode()) <= WECOM_TEXT_BYTES for p in pieces)
    assert [p.dedupe_key for p in parts][:2] == ["k", "k#p2"]  # type: ignore[union-attr]
    for piece in pieces:
        assert app_message(1, "u", Reply(piece), outbox_id=1)["text"]["content"] == piece


def test_dingtalk_markdown_of_every_part_is_within_its_size() -> None:
    big = card("标题", *("很长的一行说明文字，" * 15 for _ in range(20)))
    for part in fit_card(big):
        _, param = robot_message(part, in_group=False)
        assert len(json.dumps(param, ensure_ascii=False).encode()) <= DINGTALK_MSGPARAM_BYTES
        assert all(b.label in card_markdown(part, in_group=False) for b in part.buttons)
        assert webhook_body(part, in_group=True, at_user_ids=[])["markdown"]["title"] == part.title


def test_split_text_prefers_sentences_then_clauses_then_spaces() -> None:
    assert split_text("第一句。第二句很长很长。", 8) == ["第一句。", "第二句很长很长。"]
    assert split_text("甲乙丙，丁戊己庚辛", 6) == ["甲乙丙，", "丁戊己庚辛"]
    assert split_text("call A12 now", 9) == ["call A12", "now"]
