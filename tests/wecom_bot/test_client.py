"""The long-connection client alone: heartbeats, a dead line, a failed store, a bad secret."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.wecom_bot.connection import BotConnection
from tests.fakes.wecom_bot_gateway import FakeBotGateway
from tests.polling import eventually
from tests.wecom_bot.conftest import BOT_ID, BOT_SECRET


@contextlib.asynccontextmanager
async def running(conn: BotConnection) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(conn.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def client(
    gateway: FakeBotGateway, stored: list[str], *, secret: str = BOT_SECRET
) -> BotConnection:
    async def store(raw: str, frame: dict[str, Any]) -> None:
        stored.append(frame["body"]["msgid"])

    return BotConnection(
        url=gateway.url, bot_id=BOT_ID, secret=secret, on_callback=store,
        heartbeat_s=0.1, backoff_s=(0.05, 0.2),
    )  # fmt: skip


async def test_heartbeats_are_sent_and_answered(gateway: FakeBotGateway) -> None:
    conn = client(gateway, [])
    async with running(conn):
        await gateway.wait_for(lambda: gateway._active is not None and gateway._active.pings >= 3)
        assert conn.connected
    assert gateway.subscribes == [1]


async def test_unanswered_heartbeats_drop_the_line_and_it_comes_back(
    gateway: FakeBotGateway,
) -> None:
    gateway.answer_pings = False
    conn = client(gateway, [])
    async with running(conn):
        await gateway.wait_for(lambda: len(gateway.subscribes) >= 2)


async def test_a_callback_that_cannot_be_stored_drops_the_line_before_the_next_is_read(
    gateway: FakeBotGateway,
) -> None:
    stored: list[str] = []
    failures = [RuntimeError("database down")]

    async def store(raw: str, frame: dict[str, Any]) -> None:
        if failures:
            raise failures.pop()
        stored.append(frame["body"]["msgid"])

    conn = BotConnection(
        url=gateway.url, bot_id=BOT_ID, secret=BOT_SECRET, on_callback=store,
        heartbeat_s=30, backoff_s=(0.05, 0.2),
    )  # fmt: skip
    async with running(conn):
        await gateway.wait_for(lambda: gateway.connected)
        await gateway.push(gateway.text("wanglei", "第一条", msgid="a"))
        await gateway.wait_for(lambda: len(gateway.subscribes) == 2)  # it hung up and came back
        await gateway.push(gateway.text("wanglei", "重发", msgid="a"))
        await gateway.wait_for(lambda: stored)
    assert stored == ["a"]


async def test_a_wrong_secret_is_refused_retried_with_backoff_and_shown(
    gateway: FakeBotGateway,
) -> None:
    conn = client(gateway, [], secret="wrong")
    async with running(conn):
        await gateway.wait_for(lambda: "subscribe refused" in conn.detail)
        assert not conn.connected
    assert gateway.subscribes == []


@pytest.mark.parametrize("url", ["ws://127.0.0.1:9/", "not a url"])
async def test_an_unreachable_gateway_is_retried_and_never_raises(url: str) -> None:
    conn = BotConnection(
        url=url, bot_id=BOT_ID, secret=BOT_SECRET, on_callback=lambda r, f: asyncio.sleep(0),
        backoff_s=(0.01, 0.05),
    )  # fmt: skip
    async with running(conn):
        await eventually(lambda: "reconnecting" in conn.detail and conn.subscribes == 0)
