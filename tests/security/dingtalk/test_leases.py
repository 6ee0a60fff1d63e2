"""Finding 7: a restarted instance takes back its own rows at once; live leases are renewed."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.runtime import Runtime
from config.rules import Rules
from handlers.clock import FrozenClock
from storage import inbox
from storage.queue_models import InboxItem, ItemStatus
from tests.dingtalk.conftest import make_settings
from tests.dingtalk.test_end_to_end import seeded, session_replies
from tests.fakes.dingtalk import FakeDingTalk, robot_message
from tests.polling import eventually

__all__ = ["seeded"]


async def test_a_restarted_instance_answers_what_it_held_when_it_died_without_waiting(
    db_url: str,
    fake_dingtalk: FakeDingTalk,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    seeded: None,
) -> None:

    payload = json.dumps(
        robot_message(
            text="我的", msg_id="msgHeld", session_webhook=fake_dingtalk.new_session_webhook()
        ),
        ensure_ascii=False,
    )
    await inbox.store_event(
        sessions, platform="dingtalk", message_key="msgHeld", payload=payload, now=clock.now()
    )
    me = f"serve-8081@{socket.gethostname()}"
    async with sessions() as db, db.begin():  # the previous run took it, then was killed -9
        [held] = await inbox.take_batch(
            db, now=clock.now(), worker=me, platforms=["dingtalk"], lease=timedelta(minutes=2)
        )
    settings = make_settings(
        fake_dingtalk.base_url,
        database_url=db_url,
        asr_engine="platform",
        instance_name="serve-8081",
    )
    runtime = await Runtime.open(settings, rules, clock)  # the clock does not move at all
    client = TestClient(TestServer(build_app(runtime, workers=True), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        await eventually(lambda: session_replies(fake_dingtalk))
    finally:
        await client.close()
    async with sessions() as db:
        row = await db.get_one(InboxItem, held.id)
    assert row.status == ItemStatus.DONE
    assert len(session_replies(fake_dingtalk)) == 1


async def test_only_the_holder_renews_a_lease_and_only_its_own_rows_are_released(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    for key in ("a", "b"):
        await inbox.store_event(
            sessions, platform="wecom", message_key=key, payload="<x/>", now=now
        )
    async with sessions() as db, db.begin():
        [a] = await inbox.take_batch(db, now=now, worker="one", platforms=["wecom"], limit=1)
        [b] = await inbox.take_batch(db, now=now, worker="two", platforms=["wecom"], limit=1)
    later = now + timedelta(minutes=5)
    async with sessions() as db, db.begin():
        assert await inbox.extend_leases(db, [a.id, b.id], worker="one", until=later) == 1
        assert await inbox.release_own(db, worker="two", now=now) == 1
    async with sessions() as db:
        rows = {r.message_key: r for r in (await db.execute(select(InboxItem))).scalars()}
    assert rows["a"].taken_until == later
    assert rows["b"].taken_until is not None
    assert rows["b"].taken_until < now  # takeable again at once
