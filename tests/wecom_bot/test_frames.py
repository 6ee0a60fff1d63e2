"""Every 智能机器人 frame type → Event, and our messages → the bodies the doc prescribes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.wecom_bot import frames
from handlers.chat import Button, Card, CardUpdate, EventKind, Platform, Reply
from tests.fakes.wecom_bot_gateway import FakeBotGateway

AT = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)
GW = FakeBotGateway(bot_id="aib1", secret="s")


def event_of(frame: dict[str, Any]) -> Any:
    return frames.to_event(json.dumps(frame, ensure_ascii=False), received_at=AT)


def test_a_text_in_a_group_loses_the_bots_mention_and_keeps_the_chat() -> None:
    event = event_of(
        GW.text("wanglei", "@销售助手 跟进 启明 已报价", chatid="wrkGroup1", msgid="m1")
    )
    assert (event.platform, event.kind, event.text) == (
        Platform.WECOM_BOT,
        EventKind.TEXT,
        "跟进 启明 已报价",
    )
    assert (event.message_id, event.is_group, event.conversation_id) == ("m1", True, "wrkGroup1")


def test_a_voice_carries_the_platforms_text_and_no_audio() -> None:
    event = event_of(GW.voice("wanglei", "跟进启明电话确认试用"))
    assert (event.kind, event.recognition, event.media_id) == (
        EventKind.VOICE,
        "跟进启明电话确认试用",
        None,
    )


def test_mixed_words_and_a_picture_are_text_with_the_picture_as_media() -> None:
    items = [
        {"msgtype": "text", "text": {"content": "完成 12 回访记录"}},
        {"msgtype": "image", "image": {"url": "https://x/1", "aeskey": "k"}},
    ]
    frame = GW.message("wanglei", "mixed", {"msg_item": items}, msgid="mx1")
    event = event_of(frame)
    assert (event.kind, event.text, event.media_id) == (EventKind.TEXT, "完成 12 回访记录", "mx1")
    assert json.loads(frames.media_of(json.dumps(frame)) or "{}")["url"] == "https://x/1"


def test_a_mixed_message_of_only_pictures_is_an_image() -> None:
    items = [{"msgtype": "image", "image": {"url": "https://x/2", "aeskey": "k"}}]
    assert event_of(GW.message("wanglei", "mixed", {"msg_item": items})).kind == EventKind.IMAGE


@pytest.mark.parametrize("msgtype", ["file", "video"])
def test_files_and_videos_are_files(msgtype: str) -> None:
    frame = GW.message("wanglei", msgtype, {"url": "https://x/f", "aeskey": "k"}, msgid="f1")
    event = event_of(frame)
    assert (event.kind, event.media_format, event.media_id) == (EventKind.FILE, msgtype, "f1")


def test_a_card_click_keeps_the_frames_req_id_for_the_update() -> None:
    frame = GW.click("wanglei", "accept 12", "task-12@7")
    event = event_of(frame)
    assert event.kind == EventKind.CARD_ACTION
    assert event.action is not None
    assert (event.action.key, event.action.card_id) == ("accept 12", "task-12@7")
    assert event.action.response_code == frame["headers"]["req_id"]
    assert event.received_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_enter_chat_is_enter_and_an_unknown_type_is_unsupported() -> None:
    assert event_of(GW.enter("wanglei")).kind == EventKind.ENTER
    assert event_of(GW.message("wanglei", "sticker", {})).kind == EventKind.UNSUPPORTED


@pytest.mark.parametrize(
    "payload",
    ["not json", "[]", json.dumps({"cmd": "aibot_msg_callback", "body": {"msgid": "x"}})],
)
def test_an_unreadable_frame_is_a_value_error(payload: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        frames.to_event(payload, received_at=AT)


def test_the_disconnected_event_is_recognised() -> None:
    frame = GW._event_frame("disconnected_event", "system")
    assert frames.is_disconnected_event(frame)
    assert not frames.is_disconnected_event(GW.enter("wanglei"))


def test_bodies_markdown_card_and_update() -> None:
    card = Card("task-12", "任务卡 #12：回访", ("客户：启明",), (Button("accept 12", "接受"),))
    text = frames.message_body(Reply("**已记录**", markdown=True), outbox_id=3)
    body = frames.message_body(card, outbox_id=3)
    update = frames.update_body(CardUpdate("task-12@3", "已接受 ✓", "req-1"))
    assert text == {"msgtype": "markdown", "markdown": {"content": "**已记录**"}}
    assert body["template_card"]["task_id"] == "task-12@3"
    assert body["template_card"]["button_list"] == [
        {"text": "接受", "style": 1, "key": "accept 12"}
    ]
    assert update["template_card"] == {
        "card_type": "text_notice",
        "main_title": {"title": "已接受 ✓"},
        "task_id": "task-12@3",
    }
    long = frames.message_body(Reply("长" * 10000), outbox_id=1)["markdown"]["content"]
    assert len(long.encode()) <= frames.MARKDOWN_MAX_BYTES
