"""Voice end to end: a started Whisper per session, and the app's fixtures on the session's loop.

The transcriber's process pool lives on the event loop it was started on, so every async test
here runs on the session loop, and the async fixtures they use (database engine, fake WeCom)
are redefined here on that loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pytest_asyncio import is_async_test
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.asr import Transcriber
from bot.serve import transcriber_from_settings
from config.settings import Settings
from handlers.clock import FrozenClock
from handlers.extraction import warm_up
from storage.db import create_engine, make_sessionmaker
from storage.models import Customer, Role, Team, User
from tests.asr.conftest import asr_cache_dir, speak_english, voice_dev
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_client import WeComCallbacks
from tests.voice.support import REP
from tests.wecom.support import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN

__all__ = ["asr_cache_dir", "speak_english", "voice_dev"]  # shared with tests/asr

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every async test here runs on the session's loop, where the started model lives."""
    for item in items:
        if is_async_test(item) and item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


@dataclass(frozen=True)
class Whisper:
    """A started transcriber and the settings it was built from (the instance gets the same)."""

    transcriber: Transcriber
    settings: dict[str, Any]


async def _started(cache_dir: Path, language: str) -> Whisper:
    settings: dict[str, Any] = {
        "asr_engine": "faster-whisper",
        "asr_model": "base",  # the bundled model
        "asr_language": language,
        "cache_dir": cache_dir,
    }
    transcriber = transcriber_from_settings(Settings(**settings))
    await transcriber.start()
    return Whisper(transcriber, settings)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def whisper(asr_cache_dir: Path) -> AsyncIterator[Whisper]:
    """The default engine and language (faster-whisper, bundled base, zh), started once."""
    started = await _started(asr_cache_dir, "zh")
    yield started
    await started.transcriber.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def warm_extractor() -> None:
    """As `salesbot serve` does before the first note: jionlp & co. load once (~1.5 s)."""
    await asyncio.to_thread(warm_up)


@pytest_asyncio.fixture(loop_scope="session")
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest_asyncio.fixture(loop_scope="session")
async def fake_wecom(clock: FrozenClock) -> AsyncIterator[FakeWeCom]:
    fake = FakeWeCom(corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID, now=clock.now)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def wecom(clock: FrozenClock) -> WeComCallbacks:
    return WeComCallbacks(
        token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID, now=clock.now
    )


@pytest_asyncio.fixture(loop_scope="session")
async def book(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, voice_dev: dict[str, Any]
) -> dict[str, int]:
    """华东一组 with 王磊 (rep, UserID wanglei), who owns every customer of the voice dev set."""
    now = clock.now()
    async with sessions() as db, db.begin():
        team = Team(name="华东一组", wecom_webhook_key="robot-east", created_at=now)
        db.add(team)
        await db.flush()
        rep = User(name="王磊", role=Role.REP, team_id=team.id, wecom_userid=REP, created_at=now)
        db.add(rep)
        await db.flush()
        ids = {"rep": rep.id}
        for entry in voice_dev["customers"]:
            customer = Customer(
                name=entry["name"],
                aliases=entry["aliases"],
                owner_id=rep.id,
                stage="意向",
                stage_entered_at=now - timedelta(days=2),
                created_at=now - timedelta(days=30),
            )
            db.add(customer)
            await db.flush()
            ids[entry["name"]] = customer.id
    return ids
