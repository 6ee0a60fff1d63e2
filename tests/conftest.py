"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, a frozen clock, a demo team."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from config.rules import Rules, load_rules
from handlers.clock import FrozenClock
from storage.db import create_engine, make_sessionmaker
from storage.migrate import upgrade_to_head
from tests import pg

# 2026-03-05 18:30 in Shanghai, a Thursday: the moment the dev notes were written.
START = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = asyncio.run(pg.create_template())
    yield name
    pg.drop_database_sync(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind, private to this test."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/salesbot.db"
        engine = create_engine(url)
        asyncio.run(_upgrade_and_dispose(engine))
        yield url
        return
    template = request.getfixturevalue("pg_template")
    name = asyncio.run(pg.create_database_from(template))
    yield pg.url_for(name)
    pg.drop_database_sync(name)


async def _upgrade_and_dispose(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    await engine.dispose()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules()
