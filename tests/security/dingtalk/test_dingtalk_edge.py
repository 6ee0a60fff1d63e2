"""Findings 2, 4, 5 on DingTalk: fields checked at the edge, odd signatures refused cleanly."""

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
from tests.dingtalk.conftest import APP_SECRET, now_ms
from tests.fakes.dingtalk import robot_message, signed_headers

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(adapter: DingTalkAdapter) -> AsyncIterator[Client]:
    app = web.Application()
    app.add_routes(adapter.routes())
    async with TestClient(TestServer(app)) as client:
        yield client


async def stored(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as db:
        return list((await db.execute(select(InboxItem.message_key))).scalars())


async def post(client: Client, body: dict[str, Any], headers: dict[str, str]) -> int:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = {**headers, "Content-Type": "application/json; charset=utf-8"}
    async with client.post("/dingtalk/callback", data=data, headers=headers) as resp:
        await resp.read()
        return resp.status


BAD_FIELDS: list[tuple[str, Any]] = [
    ("msgId", "m" * 400),  # overflowed the inbox key column: a bare 500 with a traceback
    ("msgId", "msg id with spaces"),
    ("msgId", "msg\u0000"),
    ("msgId", 12345),
    ("msgId", ["msgA"]),
    ("senderStaffId", "s" * 600),  # could not be written as an outbox target
    ("senderStaffId", "wang\nlei"),
    ("senderId", "$:LWCP_v1:$" + "x" * 600),
    ("conversationId", "cid\u0000"),
    ("conversationId", "c" * 5000),
    ("conversationType", "3"),
    ("sessionWebhook", "https://oapi.dingtalk.com/" + "a" * 5000),
    ("sessionWebhookExpiredTime", "soon"),
    ("createAt", 10**30),
    ("robotCode", "r" * 500),
    ("msgtype", "text; drop"),
    ("text", ["跟进"]),
    ("atUsers", [{"dingtalkId": "x"}] * 500),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
async def test_a_bad_field_answers_400_stores_nothing_and_logs_no_traceback(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: Any,
) -> None:
    message = robot_message(text="我的", msg_id="msgEdge1") | {field: value}
    assert await post(client, message, signed_headers(APP_SECRET, now_ms(clock))) == 400
    assert await stored(sessions) == []
    assert "Traceback" not in capsys.readouterr().out


async def test_a_sender_from_another_organisation_is_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    message = robot_message(text="我的", msg_id="msgCorp") | {"senderCorpId": "dingother"}
    assert await post(client, message, signed_headers(APP_SECRET, now_ms(clock))) == 400
    assert await stored(sessions) == []


async def test_a_good_message_next_to_the_bad_ones_is_stored(
    client: Client, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    bad = robot_message(text="我的", msg_id="m" * 400)
    good = robot_message(text="我的", msg_id="msgGood")
    assert await post(client, bad, signed_headers(APP_SECRET, now_ms(clock))) == 400
    clock.advance(seconds=1)
    assert await post(client, good, signed_headers(APP_SECRET, now_ms(clock))) == 200
    assert await stored(sessions) == ["msgGood"]


@pytest.mark.parametrize(
    ("timestamp", "sign"),
    [
        ("²³", "x"),  # isdigit() but not int()
        ("١٧٧٢٧٠٦٦٠٠٠٠٠", "x"),  # Arabic-Indic digits
        (None, "é" * 44),  # a non-ASCII sign
        ("9" * 40, "x"),
    ],
)
async def test_an_odd_signature_header_answers_401_not_500(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    capsys: pytest.CaptureFixture[str],
    timestamp: str | None,
    sign: str,
) -> None:
    headers = signed_headers(APP_SECRET, now_ms(clock))
    headers = {"timestamp": timestamp or headers["timestamp"], "sign": sign}
    data = json.dumps(robot_message(text="我的", msg_id="msgSig"), ensure_ascii=False).encode()
    async with client.post("/dingtalk/callback", data=data, headers=headers) as resp:
        assert resp.status == 401
    assert await stored(sessions) == []
    assert "Traceback" not in capsys.readouterr().out


async def test_bad_signatures_are_logged_one_line_each(
    client: Client, clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    body = robot_message(text="我的", msg_id="msgSigLog")
    for n in range(50):
        headers = {"timestamp": str(now_ms(clock)), "sign": "bad" + "A" * n}
        assert await post(client, body, headers) == 401
    logged = capsys.readouterr().out
    assert "Traceback" not in logged
    assert len([line for line in logged.splitlines() if line.strip()]) == 50
