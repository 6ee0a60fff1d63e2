"""WeCom fixtures: the fake API, an encrypting callback client, the adapter on a bare app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import AdapterDeps
from bot.wecom import WeComAdapter
from handlers.clock import FrozenClock
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_client import WeComCallbacks
from tests.wecom.support import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    SECRET,
    TOKEN,
    InboxBell,
    serve_routes,
    wecom_settings,
)


@pytest.fixture
async def fake_wecom(clock: FrozenClock) -> AsyncIterator[FakeWeCom]:
    fake = FakeWeCom(corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID, now=clock.now)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def bell() -> InboxBell:
    return InboxBell()


@pytest.fixture
def deps(
    fake_wecom: FakeWeCom,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    http: aiohttp.ClientSession,
    bell: InboxBell,
) -> AdapterDeps:
    return AdapterDeps(
        settings=wecom_settings(fake_wecom.base_url),
        sessions=sessions,
        clock=clock,
        http=http,
        wake_inbox=bell,
    )


@pytest.fixture
def adapter(deps: AdapterDeps) -> WeComAdapter:
    return WeComAdapter(deps)


@pytest.fixture
async def callback_client(adapter: WeComAdapter) -> AsyncIterator[TestClient]:
    client = await serve_routes(adapter)
    yield client
    await client.close()


@pytest.fixture
def wecom(clock: FrozenClock) -> WeComCallbacks:
    return WeComCallbacks(
        token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID, now=clock.now
    )
