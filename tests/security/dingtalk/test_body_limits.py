"""Finding 7: a body timeout and size limit of salesbot's own, not only nginx's."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import AdapterDeps
from bot.dingtalk.adapter import DingTalkAdapter
from handlers.clock import FrozenClock
from tests.dingtalk.conftest import APP_SECRET, WakeCounter, make_settings, now_ms
from tests.fakes.dingtalk import FakeDingTalk, robot_message, signed_headers

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(
    fake_dingtalk: FakeDingTalk,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    http: aiohttp.ClientSession,
) -> AsyncIterator[Client]:
    settings = make_settings(
        fake_dingtalk.base_url, callback_read_timeout_s=0.5, callback_max_bytes=4096
    )
    deps = AdapterDeps(
        settings=settings, sessions=sessions, clock=clock, http=http, wake_inbox=WakeCounter()
    )
    app = web.Application()
    app.add_routes(DingTalkAdapter(deps).routes())
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def test_a_body_that_trickles_in_is_cut_off_at_the_timeout_with_408(
    client: Client, clock: FrozenClock
) -> None:
    headers = signed_headers(APP_SECRET, now_ms(clock))
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    head = (
        "POST /dingtalk/callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"timestamp: {headers['timestamp']}\r\nsign: {headers['sign']}\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    started = time.monotonic()
    writer.write(head.encode() + b'{"msgId": ')  # and then nothing more
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 3


async def test_a_chunked_body_past_the_limit_is_refused_with_413_without_a_length_header(
    client: Client, clock: FrozenClock
) -> None:
    message = robot_message(text="跟进 启明 " + "很好" * 3000, msg_id="msgBig")
    body = json.dumps(message, ensure_ascii=False).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    headers = {**signed_headers(APP_SECRET, now_ms(clock)), "Content-Type": "application/json"}
    async with client.post("/dingtalk/callback", data=chunks(), headers=headers) as resp:
        assert resp.status == 413
