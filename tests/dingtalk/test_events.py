"""Robot messages and card clicks → Event, for every message type DingTalk sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.dingtalk.events import to_event
from handlers.chat import CardAction, EventKind, Platform
from tests.fakes.dingtalk import robot_message

AT = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


def test_a_private_text_becomes_a_text_event_from_the_staff_id() -> None:
    event = to_event(
        json.dumps(robot_message(text="跟进 启明 电话确认了试用安排", msg_id="msgA")),
        received_at=AT,
    )
    assert (event.platform, event.message_id, event.sender) == (
        Platform.DINGTALK,
        "msgA",
        "wanglei",
    )
    assert (event.kind, event.text, event.is_group) == (
        EventKind.TEXT,
        "跟进 启明 电话确认了试用安排",
        False,
    )
    assert event.received_at == AT
    assert event.conversation_id == "cidWangLeiPrivate=="


def test_a_group_text_loses_the_space_the_removed_mention_left() -> None:
    message = robot_message(text=" 我的 ", group=True)
    event = to_event(json.dumps(message), received_at=AT)
    assert (event.text, event.is_group, event.conversation_id) == (
        "我的",
        True,
        "cidSalesTeam9ok==",
    )


def test_an_external_sender_without_a_staff_id_is_known_by_the_sender_id() -> None:
    message = robot_message(text="你好")
    del message["senderStaffId"]
    assert to_event(json.dumps(message), received_at=AT).sender == "$:LWCP_v1:$wanglei"


def test_rich_text_joins_its_text_parts() -> None:
    content = {
        "richText": [
            {"text": "跟进 启明 "},
            {"type": "picture", "downloadCode": "pic1", "pictureDownloadCode": "pp1"},
            {"text": "现场演示很顺利"},
        ]
    }
    event = to_event(json.dumps(robot_message("richText", content=content)), received_at=AT)
    assert (event.kind, event.text) == (EventKind.TEXT, "跟进 启明 现场演示很顺利")


def test_rich_text_with_only_pictures_is_an_image() -> None:
    content = {"richText": [{"type": "picture", "downloadCode": "pic1"}]}
    event = to_event(json.dumps(robot_message("richText", content=content)), received_at=AT)
    assert (event.kind, event.media_id) == (EventKind.IMAGE, "pic1")


def test_a_picture_carries_its_download_code() -> None:
    content = {"downloadCode": "picDL", "pictureDownloadCode": "picPDL"}
    event = to_event(json.dumps(robot_message("picture", content=content)), received_at=AT)
    assert (event.kind, event.media_id) == (EventKind.IMAGE, "picDL")


def test_audio_carries_the_download_code_the_amr_format_and_the_recognition() -> None:
    content = {
        "duration": 4000,
        "downloadCode": "audioDL",
        "recognition": "跟进启明电话确认了试用安排",
    }
    event = to_event(json.dumps(robot_message("audio", content=content)), received_at=AT)
    assert event.kind == EventKind.VOICE
    assert (event.media_id, event.media_format) == ("audioDL", "amr")
    assert event.recognition == "跟进启明电话确认了试用安排"


def test_audio_with_an_empty_recognition_has_none_and_keeps_a_given_extension() -> None:
    content = {"downloadCode": "audioDL", "recognition": " ", "fileExtension": "ogg"}
    event = to_event(json.dumps(robot_message("audio", content=content)), received_at=AT)
    assert (event.recognition, event.media_format) == (None, "ogg")


@pytest.mark.parametrize(
    ("msgtype", "content"),
    [
        ("unknownMsgType", {"unknownMsgType": "机器人暂不支持接收"}),
        ("interactiveCard", {}),
    ],
)
def test_other_message_types_are_unsupported_with_their_type_named(
    msgtype: str, content: dict[str, str]
) -> None:
    event = to_event(json.dumps(robot_message(msgtype, content=content)), received_at=AT)
    assert (event.kind, event.raw_type) == (EventKind.UNSUPPORTED, msgtype)


@pytest.mark.parametrize(
    ("msgtype", "content", "name"),
    [
        ("video", {"duration": "12", "videoType": "mp4", "downloadCode": "v1"}, ""),
        ("file", {"downloadCode": "v1", "fileName": "报价单.pdf", "spaceId": "1"}, "报价单.pdf"),
    ],
)
def test_files_and_videos_are_files_with_their_download_code(
    msgtype: str, content: dict[str, str], name: str
) -> None:
    event = to_event(json.dumps(robot_message(msgtype, content=content)), received_at=AT)
    assert (event.kind, event.media_id, event.media_format, event.text) == (
        EventKind.FILE,
        "v1",
        msgtype,
        name,
    )


def test_a_rich_text_keeps_its_words_and_its_picture() -> None:
    parts = [{"text": "完成 12 回访记录见图"}, {"type": "picture", "downloadCode": "pic-1"}]
    message = robot_message("richText", content={"richText": parts})
    event = to_event(json.dumps(message), received_at=AT)
    assert (event.kind, event.text, event.media_id) == (
        EventKind.TEXT,
        "完成 12 回访记录见图",
        "pic-1",
    )


def test_a_card_click_becomes_the_command_its_button_stands_for() -> None:
    click = {
        "outTrackId": "task-12-1",
        "userId": "wanglei",
        "type": "actionCallback",
        "content": json.dumps(
            {"cardPrivateData": {"actionIds": ["a"], "params": {"key": "接受 12"}}}
        ),
    }
    payload = json.dumps(click)
    event = to_event(payload, received_at=AT)
    assert (event.kind, event.text, event.sender) == (EventKind.CARD_ACTION, "接受 12", "wanglei")
    assert event.action == CardAction(key="接受 12", card_id="task-12-1")
    assert event.message_id == to_event(payload, received_at=AT).message_id  # stable key


@pytest.mark.parametrize(
    "payload",
    ["not json", "[]", json.dumps({"msgtype": "text"}), json.dumps({"msgId": "m", "msgtype": ""})],
)
def test_an_unreadable_payload_is_a_value_error(payload: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the contract is "ValueError"
        to_event(payload, received_at=AT)
