"""Stream mode against a fake gateway on its own thread: store, then ack; disconnects; shutdown."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import AdapterDeps
from bot.dingtalk.adapter import DingTalkAdapter
from bot.dingtalk.callback import save_message
from bot.dingtalk.stream import StreamRunner
from storage.queue_models import InboxItem
from tests.dingtalk.conftest import APP_KEY, APP_SECRET, make_settings
from tests.fakes.dingtalk import robot_message
from tests.fakes.dingtalk_stream_gateway import CARD_TOPIC, FakeStreamGateway

FAST_BACKOFF = (0.01, 0.05)


async def done(future: concurrent.futures.Future[Any], timeout_s: float = 5.0) -> Any:
    return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll a condition another thread makes true, up to a deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)


class GatedStore:
    """The real inbox insert behind a gate the test opens: shows the ack waits for the commit."""

    def __init__(self, deps: AdapterDeps) -> None:
        self.deps = deps
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, message_key: str, payload: str) -> bool:
        self.entered.set()
        await self.gate.wait()
        return await save_message(self.deps, message_key, payload)


@pytest.fixture
def store(deps: AdapterDeps) -> GatedStore:
    return GatedStore(deps)


@pytest.fixture
async def runner(gateway: FakeStreamGateway, store: GatedStore) -> AsyncIterator[StreamRunner]:
    runner = StreamRunner(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        api_base=gateway.base_url,
        store=store,
        backoff_s=FAST_BACKOFF,
        store_timeout_s=5,
    )
    runner.start()
    yield runner
    assert await runner.stop(5), "the SDK thread did not stop"


async def inbox(sessions: async_sessionmaker[AsyncSession]) -> list[InboxItem]:
    async with sessions() as db:
        return list((await db.execute(select(InboxItem).order_by(InboxItem.id))).scalars())


async def test_a_stream_message_is_acked_only_after_its_inbox_row_is_committed(
    runner: StreamRunner,
    gateway: FakeStreamGateway,
    store: GatedStore,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await done(gateway.connected(1))
    store.gate.clear()
    data = robot_message(text="跟进 启明 电话确认了试用安排", msg_id="msgStream1")
    frame_id = await gateway.send_callback(data)
    await asyncio.wait_for(store.entered.wait(), 5)
    # A later frame is acked while the insert is held: the client is alive, and still silent
    # about the message whose row is not committed yet.
    await done(gateway.ack_for(await gateway.send_ping()))
    assert not gateway.ack_for(frame_id).done()
    assert await inbox(sessions) == []

    store.gate.set()
    ack = await done(gateway.ack_for(frame_id))

    assert ack["code"] == 200
    rows = await inbox(sessions)
    assert [(r.platform, r.message_key) for r in rows] == [("dingtalk", "msgStream1")]
    assert json.loads(rows[0].payload) == data


async def test_a_stream_message_is_stored_exactly_as_its_frame_data(
    runner: StreamRunner, gateway: FakeStreamGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await done(gateway.connected(1))
    data = robot_message(text="任务", msg_id="msgRaw")

    await done(gateway.ack_for(await gateway.send_callback(data)))

    assert [r.payload for r in await inbox(sessions)] == [json.dumps(data)]


async def test_a_redelivered_message_is_stored_once_and_acked_both_times(
    runner: StreamRunner, gateway: FakeStreamGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await done(gateway.connected(1))
    data = robot_message(text="我的", msg_id="msgTwice")

    first = await done(gateway.ack_for(await gateway.send_callback(data)))
    second = await done(gateway.ack_for(await gateway.send_callback(data)))  # new frame id

    assert (first["code"], second["code"]) == (200, 200)
    assert [r.message_key for r in await inbox(sessions)] == ["msgTwice"]


async def test_two_instances_each_connected_store_a_message_delivered_to_both_once(
    runner: StreamRunner,
    gateway: FakeStreamGateway,
    store: GatedStore,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    second = StreamRunner(
        app_key=APP_KEY, app_secret=APP_SECRET, api_base=gateway.base_url, store=store
    )
    second.start()
    try:
        await done(gateway.connected(2))
        data = robot_message(text="我的", msg_id="msgBoth")

        first_ack = await done(gateway.ack_for(await gateway.send_callback(data, connection=0)))
        second_ack = await done(gateway.ack_for(await gateway.send_callback(data, connection=1)))
    finally:
        assert await second.stop(5)

    assert (first_ack["code"], second_ack["code"]) == (200, 200)
    assert [r.message_key for r in await inbox(sessions)] == ["msgBoth"]


async def test_a_disconnect_frame_makes_the_client_reconnect_and_keep_receiving(
    runner: StreamRunner, gateway: FakeStreamGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await done(gateway.connected(1))

    await gateway.send_disconnect()
    await done(gateway.connected(2))
    await done(gateway.ack_for(await gateway.send_callback(robot_message(msg_id="msgAfter"))))

    assert len(gateway.opens) == 2  # a fresh ticket for the new connection
    assert [r.message_key for r in await inbox(sessions)] == ["msgAfter"]


async def test_a_message_in_flight_at_a_disconnect_is_stored_and_acked_before_the_socket_closes(
    runner: StreamRunner,
    gateway: FakeStreamGateway,
    store: GatedStore,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await done(gateway.connected(1))
    store.gate.clear()
    frame_id = await gateway.send_callback(robot_message(msg_id="msgInFlight"))
    await asyncio.wait_for(store.entered.wait(), 5)

    await gateway.send_disconnect()
    store.gate.set()

    ack = await done(gateway.ack_for(frame_id))
    await done(gateway.connected(2))
    assert ack["code"] == 200
    assert [r.message_key for r in await inbox(sessions)] == ["msgInFlight"]


async def test_failed_connection_opens_are_retried_with_backoff_until_one_works(
    gateway: FakeStreamGateway, store: GatedStore
) -> None:
    gateway.fail_next_opens(2)
    runner = StreamRunner(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        api_base=gateway.base_url,
        store=store,
        backoff_s=FAST_BACKOFF,
    )
    runner.start()
    try:
        await done(gateway.connected(1))
        assert len(gateway.opens) == 3
        await eventually(lambda: runner.readiness()[0])
    finally:
        assert await runner.stop(5)


async def test_stop_wakes_a_client_that_is_waiting_out_a_long_backoff(
    gateway: FakeStreamGateway, store: GatedStore
) -> None:
    gateway.fail_next_opens(100)
    runner = StreamRunner(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        api_base=gateway.base_url,
        store=store,
        backoff_s=(30.0, 60.0),
    )
    runner.start()
    await eventually(lambda: "HTTP 503" in runner.readiness()[1])
    assert runner.readiness()[0] is False

    started = time.monotonic()
    assert await runner.stop(5)
    assert time.monotonic() - started < 3
    assert runner.readiness() == (False, "stopped")


async def test_stop_ends_a_connected_client_despite_the_sdk_swallowing_the_first_cancel(
    runner: StreamRunner, gateway: FakeStreamGateway
) -> None:
    await eventually(lambda: runner.readiness()[0])

    started = time.monotonic()
    assert await runner.stop(5)

    assert time.monotonic() - started < 3
    assert runner.readiness() == (False, "stopped")


async def test_a_frame_without_a_message_id_is_refused_and_nothing_is_stored(
    runner: StreamRunner, gateway: FakeStreamGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await done(gateway.connected(1))
    data = robot_message(text="你好")
    del data["msgId"]

    ack = await done(gateway.ack_for(await gateway.send_callback(data)))

    assert ack["code"] == 400
    assert await inbox(sessions) == []


async def test_a_card_click_frame_is_stored_under_a_card_key(
    runner: StreamRunner, gateway: FakeStreamGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await done(gateway.connected(1))
    click = {
        "outTrackId": "task-12-1",
        "userId": "wanglei",
        "corpId": "dingcorp",
        "type": "actionCallback",
        "content": json.dumps(
            {"cardPrivateData": {"actionIds": ["accept"], "params": {"key": "接受 12"}}}
        ),
    }

    ack = await done(gateway.ack_for(await gateway.send_callback(click, topic=CARD_TOPIC)))

    assert ack["code"] == 200
    assert json.loads(ack["data"]) == {"response": {}}
    [row] = await inbox(sessions)
    assert row.message_key.startswith("card:")


async def test_the_stream_mode_adapter_connects_on_start_and_reports_it_for_readyz(
    deps: AdapterDeps, gateway: FakeStreamGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = make_settings(deps.settings.dingtalk_api_base, mode="stream")
    settings = settings.model_copy(update={"dingtalk_api_base": gateway.base_url})
    adapter = DingTalkAdapter(
        AdapterDeps(settings, deps.sessions, deps.clock, deps.http, deps.wake_inbox),
        backoff_s=FAST_BACKOFF,
    )
    assert adapter.routes() == []  # no public URL in Stream mode
    assert adapter.readiness()[0] is False

    await adapter.start()
    try:
        await done(gateway.connected(1))
        await eventually(lambda: adapter.readiness()[0])
        await done(gateway.ack_for(await gateway.send_callback(robot_message(msg_id="msgViaApp"))))
        assert [r.message_key for r in await inbox(sessions)] == ["msgViaApp"]
        assert deps.wake_inbox.calls == 1  # type: ignore[attr-defined]
    finally:
        await adapter.close()
    assert adapter.readiness() == (False, "dingtalk stream: stopped")
