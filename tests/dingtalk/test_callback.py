"""POST /dingtalk/callback on a bare app: sign checks, dedupe into the inbox, 400s and 401s."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dingtalk.adapter import DingTalkAdapter
from handlers.clock import FrozenClock
from storage.queue_models import InboxItem
from tests.dingtalk.conftest import APP_SECRET, WakeCounter, now_ms
from tests.fakes.dingtalk import robot_message, signed_headers


@pytest.fixture
async def client(
    adapter: DingTalkAdapter,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    app.add_routes(adapter.routes())
    async with TestClient(TestServer(app)) as client:
        yield client


async def inbox(sessions: async_sessionmaker[AsyncSession]) -> list[InboxItem]:
    async with sessions() as db:
        return list((await db.execute(select(InboxItem).order_by(InboxItem.id))).scalars())


async def post(
    client: TestClient[web.Request, web.Application],
    body: bytes | dict[str, Any],
    headers: dict[str, str],
) -> tuple[int, Any]:
    data = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, dict) else body
    headers = {**headers, "Content-Type": "application/json; charset=utf-8"}
    async with client.post("/dingtalk/callback", data=data, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_a_signed_text_message_is_stored_exactly_as_received_and_answered_at_once(
    client: TestClient[web.Request, web.Application],
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    wake: WakeCounter,
) -> None:
    body = json.dumps(
        robot_message(text="跟进 启明 电话确认了试用安排", msg_id="msgHttp1"), ensure_ascii=False
    )

    status, answer = await post(client, body.encode(), signed_headers(APP_SECRET, now_ms(clock)))

    assert (status, answer) == (200, {})
    [row] = await inbox(sessions)
    assert (row.platform, row.message_key, row.payload) == ("dingtalk", "msgHttp1", body)
    assert row.received_at == clock.now()
    assert wake.calls == 1


async def test_the_same_msg_id_delivered_twice_is_stored_once_and_both_are_acknowledged(
    client: TestClient[web.Request, web.Application],
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    wake: WakeCounter,
) -> None:
    message = robot_message(text="我的", msg_id="msgDup")
    first = await post(client, message, signed_headers(APP_SECRET, now_ms(clock)))
    clock.advance(seconds=60)  # a redelivery a minute later, freshly signed
    second = await post(client, message, signed_headers(APP_SECRET, now_ms(clock)))

    assert (first[0], second[0]) == (200, 200)
    assert [r.message_key for r in await inbox(sessions)] == ["msgDup"]
    assert wake.calls == 1


async def test_a_signature_made_with_the_wrong_secret_is_refused_and_nothing_stored(
    client: TestClient[web.Request, web.Application],
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    status, _ = await post(
        client, robot_message(text="帮助"), signed_headers("not-the-secret", now_ms(clock))
    )
    assert status == 401
    assert await inbox(sessions) == []


async def test_a_correctly_signed_but_stale_request_is_refused_and_nothing_stored(
    client: TestClient[web.Request, web.Application],
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    stale_ms = now_ms(clock) - 61 * 60_000
    status, _ = await post(client, robot_message(text="帮助"), signed_headers(APP_SECRET, stale_ms))
    assert status == 401
    assert await inbox(sessions) == []


async def test_a_request_without_sign_headers_is_refused(
    client: TestClient[web.Request, web.Application], sessions: async_sessionmaker[AsyncSession]
) -> None:
    status, _ = await post(client, robot_message(text="帮助"), {})
    assert status == 401
    assert await inbox(sessions) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        json.dumps({"msgtype": "text", "text": {"content": "no id"}}).encode(),
        json.dumps({**robot_message(text="x"), "senderStaffId": None, "senderId": None}).encode(),
    ],
    ids=["broken-json", "not-utf8", "no-msgId", "no-sender"],
)
async def test_a_malformed_body_is_a_400_and_nothing_is_stored(
    client: TestClient[web.Request, web.Application],
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    body: bytes,
) -> None:
    status, _ = await post(client, body, signed_headers(APP_SECRET, now_ms(clock)))
    assert status == 400
    assert await inbox(sessions) == []


async def test_the_server_keeps_serving_after_rejections(
    client: TestClient[web.Request, web.Application],
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await post(client, b"{not json", signed_headers(APP_SECRET, now_ms(clock)))
    await post(client, robot_message(text="帮助"), signed_headers("wrong", now_ms(clock)))

    status, _ = await post(
        client,
        robot_message(text="帮助", msg_id="msgOk"),
        signed_headers(APP_SECRET, now_ms(clock)),
    )

    assert status == 200
    assert [r.message_key for r in await inbox(sessions)] == ["msgOk"]
