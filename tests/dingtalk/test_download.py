"""download_media(): messageFiles/download → the temporary URL → bytes, size-limited."""

from __future__ import annotations

import json

import pytest

from bot.adapter import MediaError
from bot.dingtalk.adapter import DingTalkAdapter
from handlers.chat import Event
from handlers.clock import FrozenClock
from tests.dingtalk.conftest import ROBOT_CODE
from tests.fakes.dingtalk import AMR_BYTES, FakeDingTalk, robot_message


def voice(adapter: DingTalkAdapter, clock: FrozenClock, *, recognition: str = "") -> Event:
    content = {"duration": 4000, "downloadCode": "audioDL1", "recognition": recognition}
    payload = json.dumps(robot_message("audio", content=content), ensure_ascii=False)
    return adapter.to_event(payload, received_at=clock.now())


async def test_a_voice_message_without_recognition_is_downloaded_through_the_robot_api(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    fake_dingtalk.add_file("audioDL1", AMR_BYTES)
    event = voice(adapter, clock)
    assert event.recognition is None

    data = await adapter.download_media(event, max_bytes=1_000_000)

    assert data == AMR_BYTES
    [call] = fake_dingtalk.calls("/v1.0/robot/messageFiles/download")
    assert call.json == {"downloadCode": "audioDL1", "robotCode": ROBOT_CODE}
    assert call.token is not None


async def test_a_voice_message_with_recognition_carries_the_platform_text(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    event = voice(adapter, clock, recognition="跟进启明电话确认了试用安排")
    assert event.recognition == "跟进启明电话确认了试用安排"
    assert fake_dingtalk.requests == []  # nothing downloaded before anyone asks


async def test_a_file_larger_than_the_limit_is_refused_with_a_chinese_problem(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    fake_dingtalk.add_file("audioDL1", AMR_BYTES)

    with pytest.raises(MediaError) as caught:
        await adapter.download_media(voice(adapter, clock), max_bytes=100)

    assert caught.value.problem == "语音太大了，请分成几段再发。"


async def test_an_unknown_download_code_is_a_media_error_not_a_crash(
    adapter: DingTalkAdapter, clock: FrozenClock
) -> None:
    with pytest.raises(MediaError) as caught:
        await adapter.download_media(voice(adapter, clock), max_bytes=1_000_000)
    assert caught.value.problem == "语音下载失败，请再发一次。"


async def test_a_download_with_an_expired_token_refreshes_it_once(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    fake_dingtalk.add_file("audioDL1", AMR_BYTES)
    await adapter.download_media(voice(adapter, clock), max_bytes=1_000_000)
    fake_dingtalk.expire_tokens()

    assert await adapter.download_media(voice(adapter, clock), max_bytes=1_000_000) == AMR_BYTES
    assert fake_dingtalk.token_fetches == 2
