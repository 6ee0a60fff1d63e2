"""download_media(): AMR bytes from media/get; JSON error bodies, size limits and stale tokens."""

from __future__ import annotations

import pytest

from bot.adapter import MediaError
from bot.wecom import WeComAdapter
from handlers.chat import Event, EventKind, Platform
from handlers.clock import FrozenClock
from tests.fakes.wecom import AMR_BYTES, FakeWeCom

MAX_BYTES = 2 * 1024 * 1024


def voice(clock: FrozenClock, media_id: str | None = "media-voice-1") -> Event:
    return Event(
        Platform.WECOM,
        "m|1000002|wanglei|9001",
        "wanglei",
        clock.now(),
        kind=EventKind.VOICE,
        media_id=media_id,
        media_format="amr",
    )


async def test_a_voice_note_downloads_as_amr_bytes(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, clock: FrozenClock
) -> None:
    fake_wecom.add_media("media-voice-1")
    assert await adapter.download_media(voice(clock), max_bytes=MAX_BYTES) == AMR_BYTES


async def test_an_expired_media_id_answered_with_json_is_an_error_not_a_file(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, clock: FrozenClock
) -> None:
    with pytest.raises(MediaError) as failed:
        await adapter.download_media(voice(clock, "media-gone"), max_bytes=MAX_BYTES)
    assert failed.value.problem == "这条语音已过期，请重新发送"


async def test_media_over_the_size_limit_is_refused(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, clock: FrozenClock
) -> None:
    fake_wecom.add_media("media-voice-1", b"#!AMR\n" + b"\0" * 4096)
    with pytest.raises(MediaError, match="太大"):
        await adapter.download_media(voice(clock), max_bytes=1024)


async def test_a_stale_token_on_media_get_is_refreshed_once(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, clock: FrozenClock
) -> None:
    fake_wecom.add_media("media-voice-1")
    fake_wecom.fail_next("media/get", 42001, "access_token expired")
    assert await adapter.download_media(voice(clock), max_bytes=MAX_BYTES) == AMR_BYTES
    assert fake_wecom.token_fetches == 2


async def test_an_event_without_media_is_refused_without_a_call(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, clock: FrozenClock
) -> None:
    with pytest.raises(MediaError):
        await adapter.download_media(voice(clock, None), max_bytes=MAX_BYTES)
    assert fake_wecom.requests == []
