"""DingTalk fixtures: the fake API and Stream gateway, settings pointing at them, an adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import AdapterDeps
from bot.dingtalk.adapter import DingTalkAdapter
from config.settings import Settings
from handlers.clock import FrozenClock
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.dingtalk_stream_gateway import FakeStreamGateway

APP_KEY = "dingk7qyyjzbvqyd3wbq"
APP_SECRET = "Xq3L-app-secret-for-tests-only-9f2c"
ROBOT_CODE = "dingk7qyyjzbvqyd3wbq"  # an internal app's robotCode is its AppKey


class WakeCounter:
    """Stands in for the inbox worker's wake-up: counts how often the adapter rang."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def now_ms(clock: FrozenClock) -> int:
    return int(clock.now().timestamp() * 1000)


@pytest.fixture
async def fake_dingtalk(clock: FrozenClock) -> AsyncIterator[FakeDingTalk]:
    fake = FakeDingTalk(
        app_key=APP_KEY, app_secret=APP_SECRET, robot_code=ROBOT_CODE, now_ms=lambda: now_ms(clock)
    )
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def gateway() -> Iterator[FakeStreamGateway]:
    fake = FakeStreamGateway(client_id=APP_KEY, client_secret=APP_SECRET)
    fake.start()
    yield fake
    fake.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_settings(
    api_base: str, *, mode: Literal["http", "stream"] = "http", **overrides: Any
) -> Settings:
    """DingTalk on, both DingTalk hosts pointing at one fake."""
    return Settings(
        dingtalk_app_key=APP_KEY,
        dingtalk_app_secret=APP_SECRET,
        dingtalk_robot_code=ROBOT_CODE,
        dingtalk_mode=mode,
        dingtalk_api_base=api_base,
        dingtalk_oapi_base=api_base,
        shutdown_grace_s=5,
        **overrides,
    )


@pytest.fixture
def wake() -> WakeCounter:
    return WakeCounter()


@pytest.fixture
def deps(
    fake_dingtalk: FakeDingTalk,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    http: aiohttp.ClientSession,
    wake: WakeCounter,
) -> AdapterDeps:
    return AdapterDeps(
        settings=make_settings(fake_dingtalk.base_url),
        sessions=sessions,
        clock=clock,
        http=http,
        wake_inbox=wake,
    )


@pytest.fixture
def adapter(deps: AdapterDeps) -> DingTalkAdapter:
    return DingTalkAdapter(deps)
