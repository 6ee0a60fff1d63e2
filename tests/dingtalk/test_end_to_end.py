"""End to end on the real app: DingTalk callback or Stream frame → inbox → handlers → the fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.runtime import Runtime
from config.rules import Rules
from handlers.clock import FrozenClock
from storage.models import Customer, Followup, Role, Team, User
from storage.queue_models import VoiceJob
from tests.dingtalk.conftest import APP_SECRET, make_settings, now_ms
from tests.fakes.dingtalk import FakeDingTalk, robot_message, signed_headers
from tests.fakes.dingtalk_stream_gateway import FakeStreamGateway
from tests.polling import DEADLINE_S, eventually, settled

QIMING = "杭州启明科技有限公司"


@dataclass
class Instance:
    runtime: Runtime
    client: TestClient[Any, Any]


@asynccontextmanager
async def salesbot(
    db_url: str,
    fake: FakeDingTalk,
    clock: FrozenClock,
    rules: Rules,
    *,
    mode: Literal["http", "stream"] = "http",
    workers: bool = True,
) -> AsyncIterator[Instance]:
    """One `salesbot serve` instance in-process: the real app, workers and all."""
    settings = make_settings(fake.base_url, mode=mode, database_url=db_url, asr_engine="platform")
    runtime = await Runtime.open(settings, rules, clock)
    client = TestClient(TestServer(build_app(runtime, workers=workers), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield Instance(runtime, client)
    finally:
        await client.close()  # the app's cleanup stops the workers, the Stream and the runtime


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """华东一组 (its DingTalk group): 陈静 (manager) and 王磊 (rep), who owns 启明."""
    now = clock.now()
    async with sessions() as db, db.begin():
        team = Team(name="华东一组", dingtalk_conversation_id="cidSalesTeam9ok==", created_at=now)
        db.add(team)
        await db.flush()
        manager = User(
            name="陈静",
            role=Role.MANAGER,
            team_id=team.id,
            dingtalk_userid="chenjing",
            created_at=now,
        )
        db.add(manager)
        await db.flush()
        rep = User(
            name="王磊",
            role=Role.REP,
            team_id=team.id,
            manager_id=manager.id,
            dingtalk_userid="wanglei",
            created_at=now,
        )
        db.add(rep)
        await db.flush()
        db.add(
            Customer(
                name=QIMING,
                aliases=["启明科技", "启明"],
                owner_id=rep.id,
                stage="意向",
                stage_entered_at=now,
                created_at=now - timedelta(days=30),
            )
        )


async def post_callback(
    client: TestClient[Any, Any], message: dict[str, Any], clock: FrozenClock
) -> int:
    body = json.dumps(message, ensure_ascii=False).encode()
    headers = {**signed_headers(APP_SECRET, now_ms(clock)), "Content-Type": "application/json"}
    async with client.post("/dingtalk/callback", data=body, headers=headers) as resp:
        return resp.status


def session_replies(fake: FakeDingTalk) -> list[str]:
    return [body["text"]["content"] for _, body in fake.session_messages if "text" in body]


@pytest.mark.usefixtures("seeded")
async def test_a_typed_followup_is_answered_in_chinese_through_the_session_webhook(
    db_url: str, fake_dingtalk: FakeDingTalk, clock: FrozenClock, rules: Rules
) -> None:
    message = robot_message(
        text="跟进 启明 电话确认了试用安排，下周三前给报价",
        msg_id="msgE2E1",
        session_webhook=fake_dingtalk.new_session_webhook(),
    )
    async with salesbot(db_url, fake_dingtalk, clock, rules) as bot:
        assert await post_callback(bot.client, message, clock) == 200
        (reply,) = await eventually(lambda: session_replies(fake_dingtalk))
    assert reply.startswith(f"已记录跟进（{QIMING}）")
    assert fake_dingtalk.token_fetches == 0  # answered without spending API quota


@pytest.mark.usefixtures("seeded")
async def test_the_same_msgid_three_times_makes_one_followup_and_one_reply(
    db_url: str,
    fake_dingtalk: FakeDingTalk,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    message = robot_message(
        text="跟进 启明 演示很顺利，客户要正式报价",
        msg_id="msgE2E2",
        session_webhook=fake_dingtalk.new_session_webhook(),
    )
    async with salesbot(db_url, fake_dingtalk, clock, rules) as bot:
        for _ in range(3):  # DingTalk's redeliveries, each one freshly signed
            assert await post_callback(bot.client, message, clock) == 200
        await eventually(lambda: session_replies(fake_dingtalk))
        await eventually(lambda: settled(sessions))
    async with sessions() as db:
        followups = await db.scalar(select(func.count()).select_from(Followup))
    assert (followups, len(session_replies(fake_dingtalk))) == (1, 1)


@pytest.mark.usefixtures("seeded")
async def test_an_answer_queued_past_the_session_webhooks_expiry_goes_through_batch_send(
    db_url: str, fake_dingtalk: FakeDingTalk, clock: FrozenClock, rules: Rules
) -> None:
    message = robot_message(
        text="我的", msg_id="msgE2E3", session_webhook=fake_dingtalk.new_session_webhook()
    )
    async with salesbot(db_url, fake_dingtalk, clock, rules, workers=False) as bot:
        assert await post_callback(bot.client, message, clock) == 200
        assert await bot.runtime.inbox_worker.step()
        clock.advance(minutes=91)  # the outbox was down for a while
        await bot.runtime.outbox_sender.send_due()
    assert fake_dingtalk.session_messages == []
    [sent] = fake_dingtalk.one_to_one
    assert sent["userIds"] == ["wanglei"]


@pytest.mark.usefixtures("seeded")
async def test_a_file_is_kept_and_answered_with_what_the_bot_does_with_files(
    db_url: str, fake_dingtalk: FakeDingTalk, clock: FrozenClock, rules: Rules
) -> None:
    message = robot_message(
        "file",
        msg_id="msgE2E4",
        content={"downloadCode": "f1", "fileName": "报价单.pdf"},
        session_webhook=fake_dingtalk.new_session_webhook(),
    )
    async with salesbot(db_url, fake_dingtalk, clock, rules) as bot:
        assert await post_callback(bot.client, message, clock) == 200
        (reply,) = await eventually(lambda: session_replies(fake_dingtalk))
    assert reply.startswith("收到")
    assert "完成 <编号>" in reply


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("recognition", ["跟进启明电话确认了试用安排", ""])
async def test_a_voice_message_becomes_a_voice_job_with_its_download_code_and_recognition(
    db_url: str,
    fake_dingtalk: FakeDingTalk,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    recognition: str,
) -> None:
    content = {"duration": 4000, "downloadCode": "audioE2E", "recognition": recognition}
    message = robot_message("audio", msg_id="msgE2E5", content=content)
    async with salesbot(db_url, fake_dingtalk, clock, rules) as bot:
        assert await post_callback(bot.client, message, clock) == 200
        await eventually(lambda: settled(sessions))
    async with sessions() as db:
        job = (await db.execute(select(VoiceJob))).scalar_one()
    assert (job.platform, job.message_id, job.sender) == ("dingtalk", "msgE2E5", "wanglei")
    assert (job.media_id, job.media_format) == ("audioE2E", "amr")
    assert job.recognition == (recognition or None)


@pytest.mark.usefixtures("seeded")
async def test_a_stream_message_is_answered_end_to_end_and_readyz_shows_the_connection(
    db_url: str,
    fake_dingtalk: FakeDingTalk,
    gateway: FakeStreamGateway,
    clock: FrozenClock,
    rules: Rules,
) -> None:
    fake_dingtalk.route_stream_to(gateway.base_url)
    message = robot_message(
        text="跟进 启明 客户确认下周签约",
        msg_id="msgStreamE2E",
        session_webhook=fake_dingtalk.new_session_webhook(),
    )
    async with salesbot(db_url, fake_dingtalk, clock, rules, mode="stream") as bot:
        await asyncio.wait_for(asyncio.wrap_future(gateway.connected(1)), DEADLINE_S)
        ready = await eventually(lambda: readyz(bot.client))
        frame_id = await gateway.send_callback(message)
        ack = await asyncio.wait_for(asyncio.wrap_future(gateway.ack_for(frame_id)), DEADLINE_S)
        (reply,) = await eventually(lambda: session_replies(fake_dingtalk))
    assert ack["code"] == 200
    assert reply.startswith(f"已记录跟进（{QIMING}）")
    assert ready["checks"]["dingtalk"].startswith("dingtalk stream: connected")
    assert len(gateway.opens) == 1


async def readyz(client: TestClient[Any, Any]) -> dict[str, Any] | None:
    async with client.get("/readyz") as resp:
        answer: dict[str, Any] = await resp.json()
        return answer if resp.status == 200 else None
