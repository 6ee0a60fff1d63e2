"""WeCom 智能机器人 fixtures: the fake gateway, settings pointing at it, a seeded team."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.runtime import Runtime
from config.rules import Rules
from config.settings import Settings
from handlers.chat import Platform
from handlers.clock import Clock, FrozenClock
from storage.models import Customer, Role, Team, User
from tests.fakes.wecom_bot_gateway import FakeBotGateway

BOT_ID = "aibZ3b9Xq2TestBot"
BOT_SECRET = "bot-secret-for-tests-only-7f1e"
QIMING = "杭州启明科技有限公司"
GROUP = "wrkSFfCgAAtestgroupchatid"


def make_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "wecom_bot_id": BOT_ID,
        "wecom_bot_secret": BOT_SECRET,
        "wecom_bot_ws_url": url,
        "wecom_bot_lock_poll_s": 0.2,
        "asr_engine": "platform",
        "asr_workers": 0,
    }
    return Settings(**(values | overrides))


@pytest.fixture
async def gateway() -> AsyncIterator[FakeBotGateway]:
    fake = FakeBotGateway(bot_id=BOT_ID, secret=BOT_SECRET)
    await fake.start()
    yield fake
    await fake.close()


@dataclass
class Instance:
    runtime: Runtime
    client: TestClient[Any, Any]

    @property
    def adapter(self) -> Any:
        return self.runtime.adapters[Platform.WECOM_BOT]

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        async with self.client.get("/readyz") as resp:
            return resp.status, await resp.json()


@asynccontextmanager
async def salesbot(
    db_url: str, gateway: FakeBotGateway, clock: Clock, rules: Rules, **overrides: Any
) -> AsyncIterator[Instance]:
    """One `salesbot serve` in-process: the real app with its workers, the bot connecting out."""
    settings = make_settings(gateway.url, database_url=db_url, **overrides)
    runtime = await Runtime.open(settings, rules, clock)
    client = TestClient(TestServer(build_app(runtime), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield Instance(runtime, client)
    finally:
        await client.close()


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """华东一组 (its bot group): 陈静 (manager) and 王磊 (rep, userid wanglei), who owns 启明."""
    now = clock.now()
    async with sessions() as db, db.begin():
        team = Team(name="华东一组", wecom_bot_chatid=GROUP, created_at=now)
        db.add(team)
        await db.flush()
        manager = User(
            name="陈静", role=Role.MANAGER, team_id=team.id, wecom_userid="chenjing", created_at=now
        )
        db.add(manager)
        await db.flush()
        rep = User(
            name="王磊",
            role=Role.REP,
            team_id=team.id,
            manager_id=manager.id,
            wecom_userid="wanglei",
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
