"""Cards on DingTalk: a button's link sends its command back, and comes in as that command."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from bot.dingtalk.events import to_event
from bot.dingtalk.payloads import card_markdown, robot_message, webhook_body
from handlers.chat import Button, Card, EventKind, Image, Reply
from tests.fakes.dingtalk import robot_message as inbound_message

TASK_CARD = Card(
    "task-12-1",
    "SOP 任务：满意度回访",
    ("客户：杭州启明科技有限公司", "期限：3月12日"),
    (Button("接受 12", "接受"), Button("完成 12 已回访", "完成")),
)


def links(markdown: str) -> dict[str, str]:
    return dict(re.findall(r"\[([^\]]+)\]\((dtmd://[^)]+)\)", markdown))


def test_each_button_becomes_a_link_whose_click_sends_exactly_its_key() -> None:
    found = links(card_markdown(TASK_CARD, in_group=False))

    sent = {label: parse_qs(urlsplit(url).query)["content"][0] for label, url in found.items()}
    assert sent == {"接受": "接受 12", "完成": "完成 12 已回访"}


def test_the_message_a_click_sends_is_routed_as_the_typed_command() -> None:
    url = links(card_markdown(TASK_CARD, in_group=False))["接受"]
    clicked = parse_qs(urlsplit(url).query)["content"][0]
    message = inbound_message(text=clicked, msg_id="msgClick")

    event = to_event(json.dumps(message), received_at=datetime(2026, 3, 5, 10, 31, tzinfo=UTC))

    assert (event.kind, event.text) == (EventKind.TEXT, "接受 12")


def test_in_a_group_buttons_say_what_to_type_because_groups_only_deliver_mentions() -> None:
    text = card_markdown(TASK_CARD, in_group=True)
    assert links(text) == {}
    assert "@我并回复「接受 12」" in text


def test_a_card_to_the_robot_api_is_sample_markdown_with_the_card_title() -> None:
    key, param = robot_message(TASK_CARD, in_group=False)
    assert key == "sampleMarkdown"
    assert param["title"] == "SOP 任务：满意度回访"
    assert param["text"].startswith("#### SOP 任务：满意度回访\n\n客户：杭州启明科技有限公司")


def test_a_long_markdown_title_is_cut_for_the_chat_list() -> None:
    _, param = robot_message(Reply("# " + "启明" * 40, markdown=True), in_group=False)
    assert param["title"] == "启明" * 15


def test_a_webhook_image_falls_back_to_its_caption() -> None:
    body = webhook_body(Image(b"png", caption="3月5日日报"), in_group=True, at_user_ids=[])
    assert body == {"msgtype": "text", "text": {"content": "3月5日日报（群机器人不能发送图片）"}}
