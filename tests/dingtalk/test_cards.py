"""DingTalk interactive cards: a task card from the template, one tap, updated in place."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.dingtalk import cards
from bot.runtime import Runtime
from config.rules import Rules
from handlers.chat import Platform, Push, RecipientKind
from handlers.clock import FrozenClock
from handlers.sop import task_card
from storage.models import Customer, Task, TaskStatus, User
from storage.queue_models import InboxItem
from tests.dingtalk.conftest import APP_SECRET, make_settings
from tests.dingtalk.test_end_to_end import QIMING, seeded  # noqa: F401 - the seeded team
from tests.fakes.dingtalk import FakeDingTalk, card_click
from tests.fakes.dingtalk_stream_gateway import CARD_TOPIC, FakeStreamGateway
from tests.polling import DEADLINE_S, eventually

TEMPLATE = "5b2c9f1e-salesbot-task.schema"
PUBLIC = "https://bot.example.com"
pytestmark = pytest.mark.usefixtures("seeded")


@asynccontextmanager
async def salesbot(
    db_url: str, fake: FakeDingTalk, clock: FrozenClock, rules: Rules,
    *, mode: Literal["http", "stream"] = "http", template: str | None = TEMPLATE,
) -> AsyncIterator[tuple[Runtime, TestClient[Any, Any]]]:  # fmt: skip
    settings = make_settings(
        fake.base_url, mode=mode, database_url=db_url, asr_engine="platform",
        dingtalk_card_template_id=template, dingtalk_public_url=PUBLIC,
    )  # fmt: skip
    runtime = await Runtime.open(settings, rules, clock)
    client = TestClient(TestServer(build_app(runtime), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield runtime, client
    finally:
        await client.close()


async def _push_task_card(
    runtime: Runtime, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> Task:
    now = clock.now()
    async with sessions() as db, db.begin():
        rep = (await db.execute(select(User).where(User.dingtalk_userid == "wanglei"))).scalar_one()
        customer = (await db.execute(select(Customer))).scalar_one()
        task = Task(
            dedupe_key="visit:card", template_key="satisfaction_visit", title="满意度回访",
            checklist=["电话回访"], customer_id=customer.id, assignee_id=rep.id, push_at=now,
            accept_by=now + timedelta(days=1), due_at=now + timedelta(days=3),
            status=TaskStatus.PUSHED, pushed_at=now, last_activity_at=now, created_at=now,
        )  # fmt: skip
        db.add(task)
        await db.flush()
        card = task_card(task, QIMING, runtime.settings.tz)
        await runtime.outbox_writer.enqueue(db, [Push(RecipientKind.USER, rep.id, card)], now=now)
    return task


async def test_a_task_card_is_an_interactive_card_from_the_template(
    db_url: str, fake_dingtalk: FakeDingTalk, clock: FrozenClock, rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    async with salesbot(db_url, fake_dingtalk, clock, rules) as (runtime, _client):
        task = await _push_task_card(runtime, sessions, clock)
        [card] = await eventually(lambda: list(fake_dingtalk.cards.values()))
    assert card["cardTemplateId"] == TEMPLATE
    assert card["openSpaceId"] == "dtv1.card//IM_ROBOT.wanglei"
    assert card["callbackType"] == "HTTP"
    assert card["callbackRouteKey"] == cards.ROUTE_KEY
    params = card["cardData"]["cardParamMap"]
    assert params["title"] == f"任务卡 #{task.id}：满意度回访"
    assert [b["key"] for b in json.loads(params["buttons"])] == [
        f"accept {task.id}",
        f"done {task.id}",
    ]
    assert fake_dingtalk.one_to_one == []  # no markdown copy
    [registered] = fake_dingtalk.card_callbacks  # HTTP mode registers where clicks go
    assert registered["callbackUrl"].startswith(f"{PUBLIC}{cards.CALLBACK_PATH}?t=")


async def test_one_tap_over_http_accepts_the_task_and_updates_the_card_in_place(
    db_url: str, fake_dingtalk: FakeDingTalk, clock: FrozenClock, rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    async with salesbot(db_url, fake_dingtalk, clock, rules) as (runtime, client):
        task = await _push_task_card(runtime, sessions, clock)
        [track_id] = await eventually(lambda: list(fake_dingtalk.cards))
        url = fake_dingtalk.card_callbacks[0]["callbackUrl"].removeprefix(PUBLIC)
        click = card_click(track_id, "wanglei", f"accept {task.id}")
        async with client.post(url, json=click) as resp:
            assert resp.status == 200
        await eventually(lambda: fake_dingtalk.card_updates)
        await eventually(lambda: fake_dingtalk.one_to_one)
    params = fake_dingtalk.cards[track_id]["cardData"]["cardParamMap"]
    assert params["status"] == "已接受 ✓"
    assert params["buttons"] == "[]"
    assert fake_dingtalk.one_to_one[0]["msgParam"]["content"].startswith(f"已接受任务卡 #{task.id}")
    async with sessions() as db:
        assert (await db.get_one(Task, task.id)).status == TaskStatus.ACCEPTED


async def test_a_card_callback_without_the_registered_token_is_refused_and_not_stored(
    db_url: str, fake_dingtalk: FakeDingTalk, clock: FrozenClock, rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    click = card_click("task-1-1", "wanglei", "accept 1")
    async with (
        salesbot(db_url, fake_dingtalk, clock, rules) as (_runtime, client),
        client.post(f"{cards.CALLBACK_PATH}?t=guess", json=click) as resp,
    ):
        status = resp.status
    assert status == 401
    assert cards.callback_token(APP_SECRET) != "guess"
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(InboxItem)) == 0


async def test_one_tap_through_stream_mode_accepts_and_updates_in_place(
    db_url: str, fake_dingtalk: FakeDingTalk, gateway: FakeStreamGateway, clock: FrozenClock,
    rules: Rules, sessions: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    fake_dingtalk.route_stream_to(gateway.base_url)
    async with salesbot(db_url, fake_dingtalk, clock, rules, mode="stream") as (runtime, _c):
        await asyncio.wait_for(asyncio.wrap_future(gateway.connected(1)), DEADLINE_S)
        task = await _push_task_card(runtime, sessions, clock)
        [track_id] = await eventually(lambda: list(fake_dingtalk.cards))
        frame = await gateway.send_callback(
            card_click(track_id, "wanglei", f"accept {task.id}"), topic=CARD_TOPIC
        )
        ack = await asyncio.wait_for(asyncio.wrap_future(gateway.ack_for(frame)), DEADLINE_S)
        await eventually(lambda: fake_dingtalk.card_updates)
    assert ack["code"] == 200
    assert fake_dingtalk.cards[track_id]["callbackType"] == "STREAM"
    assert fake_dingtalk.cards[track_id]["cardData"]["cardParamMap"]["status"] == "已接受 ✓"
    assert fake_dingtalk.card_callbacks == []  # Stream needs no registered URL


async def test_without_a_template_id_a_card_stays_markdown_with_reply_links(
    db_url: str, fake_dingtalk: FakeDingTalk, clock: FrozenClock, rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    async with salesbot(db_url, fake_dingtalk, clock, rules, template=None) as (runtime, client):
        await _push_task_card(runtime, sessions, clock)
        [sent] = await eventually(lambda: fake_dingtalk.one_to_one)
        async with client.post(cards.CALLBACK_PATH, json={}) as resp:
            assert resp.status in (404, 405)  # no card route without cards
    assert sent["msgKey"] == "sampleMarkdown"
    assert "dtmd://" in sent["msgParam"]["text"]
    assert fake_dingtalk.cards == {}
    assert Platform.DINGTALK in runtime.adapters
