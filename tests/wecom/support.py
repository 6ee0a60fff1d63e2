"""WeCom test helpers: test credentials, callbacks posted, inbox rows read, outbox rows leased,
and the whole app in-process (`salesbot`), with `eventually` to wait for what it does."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.asr import Transcriber
from bot.metrics import REGISTRY
from bot.runtime import Runtime
from bot.serve import voice_steps
from bot.wecom import WeComAdapter
from config.rules import Rules
from config.settings import Settings
from handlers.chat import Button, Card, Message, message_to_payload
from handlers.clock import FrozenClock
from storage import outbox
from storage.models import User
from storage.outbox import Address
from storage.queue_models import InboxItem, OutboxItem
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_client import SignedCallback

CORP_ID = "ww5a1e5b0t00000001"
AGENT_ID = 1000002
SECRET = "test-secret-not-a-real-one"
TOKEN = "SalesbotTestToken2026"
AES_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")  # 43 characters
PATH = "/wecom/callback"


@dataclass
class InboxBell:
    """Counts wake_inbox() calls: a fake for the worker's wake-up."""

    rings: int = 0

    def __call__(self) -> None:
        self.rings += 1


def wecom_settings(api_base: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "wecom_corp_id": CORP_ID,
        "wecom_agent_id": AGENT_ID,
        "wecom_secret": SECRET,
        "wecom_token": TOKEN,
        "wecom_aes_key": AES_KEY,
        "wecom_api_base": api_base,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


async def serve_routes(adapter: WeComAdapter) -> TestClient:
    """The adapter's callback routes on a bare aiohttp app, as bot/app.py mounts them."""
    app = web.Application()
    app.add_routes(adapter.routes())
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    return client


async def post_callback(client: TestClient, callback: SignedCallback) -> tuple[int, str]:
    async with client.post(PATH, params=callback.params, data=callback.body) as resp:
        return resp.status, await resp.text()


async def inbox_rows(sessions: async_sessionmaker[AsyncSession]) -> list[InboxItem]:
    async with sessions() as db:
        return list((await db.execute(select(InboxItem).order_by(InboxItem.id))).scalars())


def rejections(reason: str) -> float:
    labels = {"platform": "wecom", "reason": reason}
    return REGISTRY.get_sample_value("salesbot_callback_rejections_total", labels) or 0.0


async def queued(
    sessions: async_sessionmaker[AsyncSession],
    address: Address,
    message: Message,
    *,
    now: datetime,
    mention: tuple[str, ...] = (),
) -> OutboxItem:
    """One outbox row, leased as the outbox sender would hand it to deliver()."""
    async with sessions() as db, db.begin():
        row_id = await outbox.add(
            db, address, message_to_payload(message, mention=mention), now=now
        )
    async with sessions() as db, db.begin():
        taken = await outbox.take_due(db, now=now, platforms=["wecom"])
    (item,) = [row for row in taken if row.id == row_id]
    return item


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def member(adapter: WeComAdapter, userid: str) -> Address:
    address = adapter.user_address(User(name=userid, role="rep", wecom_userid=userid))
    assert address is not None
    return address


async def fill_window(
    sessions: async_sessionmaker[AsyncSession], rate_key: str, count: int, clock: FrozenClock
) -> None:
    """`count` rows to rate_key already sent, one a second, the newest 1 s ago."""
    now = clock.now()
    async with sessions() as db, db.begin():
        for n in range(count):
            address = outbox.Address("wecom", "x", "x", rate_key)
            row_id = await outbox.add(db, address, {"type": "text", "text": "x"}, now=now)
            sent_at = now - timedelta(seconds=count - n)
            await outbox.mark_sent(db, row_id, now=sent_at)


SOP_CARD = Card(
    card_id="task-12",
    title="SOP：满意度回访",
    lines=("客户：杭州启明科技有限公司", "截止：3月12日"),
    buttons=(Button("接受 12", "接受"), Button("稍后提醒 12", "稍后提醒", style=2)),
)


@dataclass
class Instance:
    runtime: Runtime
    client: TestClient


@asynccontextmanager
async def salesbot(
    db_url: str,
    fake: FakeWeCom,
    clock: FrozenClock,
    rules: Rules,
    *,
    workers: bool = True,
    transcriber: Transcriber | None = None,
    on_stop: list[Callable[[], Awaitable[None]]] | None = None,
    **settings: object,
) -> AsyncIterator[Instance]:
    """One `salesbot serve` instance in-process: the real app, workers and all.

    Voice is off unless a started `transcriber` is given: then the voice workers run on it, as
    `salesbot serve` wires them (bot.serve.voice_steps); it stays started after the instance
    unless its close is among `on_stop` (run at shutdown as `salesbot serve` runs them).
    """
    values: dict[str, object] = {"asr_engine": "none", "shutdown_grace_s": 5}
    config = wecom_settings(fake.base_url, database_url=db_url, **(values | settings))
    runtime = await Runtime.open(config, rules, clock)
    steps = voice_steps(runtime, transcriber) if transcriber is not None else {}
    app = build_app(runtime, workers=workers, extra_steps=steps, on_stop=on_stop)
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield Instance(runtime, client)
    finally:
        await client.close()  # the app's cleanup stops the workers and closes the runtime
