"""to_event: every WeCom message type we store becomes the right Event; the keys collide right."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.wecom.events import message_key, read_inbound, to_event
from handlers.chat import CardAction, EventKind, Platform
from tests.fakes.wecom_client import WeComCallbacks
from tests.wecom.support import AES_KEY, AGENT_ID, CORP_ID, TOKEN

NOW = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)
RECEIVED = datetime(2026, 3, 5, 10, 30, 1, tzinfo=UTC)
wecom = WeComCallbacks(
    token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID, now=lambda: NOW
)


def test_a_text_message_becomes_a_text_event_from_its_sender() -> None:
    event = to_event(wecom.text("wanglei", "跟进 启明 已电话沟通", msg_id=11), received_at=RECEIVED)
    assert (event.platform, event.kind, event.sender, event.text) == (
        Platform.WECOM,
        EventKind.TEXT,
        "wanglei",
        "跟进 启明 已电话沟通",
    )
    assert (event.message_id, event.received_at, event.is_group) == (
        "m|1000002|wanglei|11",
        RECEIVED,
        False,
    )


def test_a_voice_message_carries_its_media_id_and_format() -> None:
    event = to_event(wecom.voice("lina", "media-v-1", msg_id=12, fmt="AMR"), received_at=RECEIVED)
    assert (event.kind, event.media_id, event.media_format, event.recognition) == (
        EventKind.VOICE,
        "media-v-1",
        "amr",
        None,
    )


def test_an_image_message_carries_its_media_id() -> None:
    event = to_event(wecom.image("lina", "media-i-1", msg_id=13), received_at=RECEIVED)
    assert (event.kind, event.media_id, event.raw_type) == (EventKind.IMAGE, "media-i-1", "image")


def test_a_location_is_a_check_in_with_its_label_and_coordinates() -> None:
    event = to_event(wecom.location("lina", "杭州市西湖区", msg_id=14), received_at=RECEIVED)
    assert (event.kind, event.raw_type, event.text) == (
        EventKind.LOCATION,
        "location",
        "杭州市西湖区",
    )
    assert (event.latitude, event.longitude) == (30.2741, 120.1551)


def test_a_video_is_a_file_with_its_media_id() -> None:
    event = to_event(wecom.video("lina", msg_id=15), received_at=RECEIVED)
    assert (event.kind, event.raw_type, event.media_id) == (EventKind.FILE, "video", "v-1")


def test_a_link_is_kept_as_its_title_and_url() -> None:
    xml = wecom.link("lina", "启明科技招标公告", "https://example.com/bid/42", msg_id=16)
    event = to_event(xml, received_at=RECEIVED)
    assert event.kind == EventKind.LINK
    assert event.text == "启明科技招标公告\nhttps://example.com/bid/42"


def test_menu_events_are_handled_not_dropped() -> None:
    scan = wecom.event("lina", "scancode_waitmsg", EventKey="scan")
    scan = scan.replace(
        "</xml>",
        "<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
        "<ScanResult><![CDATA[跟进 启明 扫码签到]]></ScanResult></ScanCodeInfo></xml>",
    )
    place = wecom.event("lina", "location_select", EventKey="where").replace(
        "</xml>",
        "<SendLocationInfo><Location_X><![CDATA[30.27]]></Location_X><Location_Y><![CDATA[120.15]]>"
        "</Location_Y><Scale><![CDATA[15]]></Scale><Label><![CDATA[文三路 90 号]]></Label>"
        "<Poiname><![CDATA[]]></Poiname></SendLocationInfo></xml>",
    )
    view = wecom.event("lina", "view", EventKey="https://example.com")
    scanned = to_event(scan, received_at=RECEIVED)
    located = to_event(place, received_at=RECEIVED)
    viewed = to_event(view, received_at=RECEIVED)
    assert (scanned.kind, scanned.text) == (EventKind.TEXT, "跟进 启明 扫码签到")
    assert (located.kind, located.text, located.latitude) == (
        EventKind.LOCATION,
        "文三路 90 号",
        30.27,
    )
    assert viewed.kind == EventKind.ENTER  # opening a page needs no answer, and is not an error


def test_opening_the_app_is_an_enter_event() -> None:
    event = to_event(wecom.enter_agent("chenjing"), received_at=RECEIVED)
    assert (event.kind, event.sender, event.raw_type) == (
        EventKind.ENTER,
        "chenjing",
        "event:enter_agent",
    )


def test_a_menu_click_is_the_command_its_key_names() -> None:
    event = to_event(wecom.event("wanglei", "click", EventKey="任务"), received_at=RECEIVED)
    assert (event.kind, event.text, event.raw_type) == (EventKind.TEXT, "任务", "event:click")


def test_a_card_button_click_is_a_card_action_with_its_task_id_and_response_code() -> None:
    xml = wecom.card_click("wanglei", key="接受 12", task_id="task-12-1@7", response_code="rc-9")
    event = to_event(xml, received_at=RECEIVED)
    assert (event.kind, event.text) == (EventKind.CARD_ACTION, "接受 12")
    assert event.action == CardAction(key="接受 12", card_id="task-12-1@7", response_code="rc-9")


def test_an_unknown_event_is_unsupported() -> None:
    event = to_event(wecom.event("wanglei", "template_card_menu_event"), received_at=RECEIVED)
    assert (event.kind, event.raw_type) == (
        EventKind.UNSUPPORTED,
        "event:template_card_menu_event",
    )


def test_a_huge_event_key_is_hashed_into_a_short_message_id() -> None:
    xml = wecom.card_click(
        "wanglei", key="完成 12 " + "很长的说明" * 100, task_id="t@1", response_code="rc"
    )
    key = message_key(read_inbound(xml))
    assert key.startswith("e|1000002|wanglei|")
    assert len(key) <= 200


@pytest.mark.parametrize(
    "payload",
    ["", "not xml", "<xml></xml>", "<xml><MsgType>text</MsgType></xml>", "<other/>"],
)
def test_an_unreadable_payload_is_a_value_error(payload: str) -> None:
    with pytest.raises(ValueError, match="WeCom message"):
        to_event(payload, received_at=RECEIVED)
