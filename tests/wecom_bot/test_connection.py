"""The long connection end to end, in-process: subscribe, callbacks in, answers out, reconnects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import connect

from config.rules import Rules
from handlers.clock import FrozenClock
from storage.models import Followup
from storage.queue_models import InboxItem
from tests.fakes.wecom_bot_gateway import FakeBotGateway, content_of
from tests.polling import eventually, settled
from tests.wecom_bot.conftest import QIMING, salesbot

pytestmark = pytest.mark.usefixtures("seeded")


async def test_a_typed_followup_is_stored_handled_and_answered_over_the_connection(
    db_url: str,
    gateway: FakeBotGateway,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with salesbot(db_url, gateway, clock, rules) as bot:
        await gateway.wait_for(lambda: gateway.connected)
        await gateway.push(gateway.text("wanglei", "跟进 启明 电话确认了试用安排，下周三前给报价"))
        [answer] = await gateway.wait_for(lambda: gateway.sends_to("wanglei"))
        status, ready = await bot.readyz()
    assert content_of(answer).startswith(f"已记录跟进（{QIMING}）")
    assert answer.cmd == "aibot_respond_msg"  # on the message's own frame, as one finished stream
    assert answer.body["stream"]["finish"] is True
    assert status == 200
    assert ready["checks"]["wecom_bot"] == "wecom bot: connected"
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Followup)) == 1


async def test_the_same_msgid_twice_is_one_inbox_row_and_one_answer(
    db_url: str,
    gateway: FakeBotGateway,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    frame = gateway.text("wanglei", "我的", msgid="dup-1")
    async with salesbot(db_url, gateway, clock, rules):
        await gateway.wait_for(lambda: gateway.connected)
        await gateway.push(frame)
        await gateway.push(frame)
        await gateway.wait_for(lambda: gateway.sends_to("wanglei"))
        await eventually(lambda: settled(sessions))
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(InboxItem)) == 1
    assert len(gateway.sends_to("wanglei")) == 1


async def test_after_the_gateway_drops_the_socket_the_bot_reconnects_and_answers(
    db_url: str, gateway: FakeBotGateway, clock: FrozenClock, rules: Rules
) -> None:
    async with salesbot(db_url, gateway, clock, rules) as bot:
        first = await gateway.wait_for(lambda: gateway.connected)
        await gateway.drop()
        second = await gateway.wait_for(
            lambda: gateway.connected not in (None, first) and gateway.connected
        )
        await gateway.push(gateway.text("wanglei", "帮助"))
        await gateway.wait_for(lambda: gateway.sends_to("wanglei"))
        assert bot.adapter.connection.subscribes == 2
    assert second != first


async def test_a_newer_connection_stops_the_old_one_reconnecting_and_readyz_says_so(
    db_url: str, gateway: FakeBotGateway, clock: FrozenClock, rules: Rules
) -> None:
    async with salesbot(db_url, gateway, clock, rules) as bot:
        first = await gateway.wait_for(lambda: gateway.connected)
        async with connect(gateway.url) as intruder:  # e.g. a developer's laptop with the secret
            body = {"bot_id": gateway.bot_id, "secret": gateway.secret}
            await intruder.send(
                json.dumps(
                    {
                        "cmd": "aibot_subscribe",
                        "headers": {"req_id": "aibot_subscribe_x"},
                        "body": body,
                    }
                )
            )
            await intruder.recv()
            await gateway.wait_for(lambda: first in gateway.replaced)
            status, ready = await eventually(lambda: _not_ready(bot))
        assert gateway.subscribes.count(first) == 1
        assert len(gateway.subscribes) == 2
    assert status == 503
    assert "replaced by a newer connection" in ready["checks"]["wecom_bot"]


async def _not_ready(bot: object) -> tuple[int, dict[str, object]] | None:
    status, body = await bot.readyz()  # type: ignore[attr-defined]
    return (status, body) if status == 503 else None


async def test_a_refused_answer_on_the_frame_is_pushed_to_the_chat_instead(
    db_url: str, gateway: FakeBotGateway, clock: FrozenClock, rules: Rules
) -> None:
    gateway.refuse["aibot_respond_msg"] = 40000  # e.g. the frame's req_id is no longer valid
    async with salesbot(db_url, gateway, clock, rules):
        await gateway.wait_for(lambda: gateway.connected)
        await gateway.push(gateway.text("wanglei", "任务"))

        def every_refusal_pushed() -> list[Any] | None:
            sends = list(gateway.sends_to("wanglei"))
            done = len(sends) >= 2 and len(sends) % 2 == 0 and sends[-1].cmd == "aibot_send_msg"
            return sends if done else None

        sends = await gateway.wait_for(every_refusal_pushed)
    # each part of the answer: tried on the frame, refused, then pushed to the chat
    assert [s.cmd for s in sends] == ["aibot_respond_msg", "aibot_send_msg"] * (len(sends) // 2)
    for refused, pushed in zip(sends[::2], sends[1::2], strict=True):
        assert content_of(pushed) == content_of(refused)
    assert "任务卡" in content_of(sends[1])
