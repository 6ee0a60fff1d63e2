"""Ops fixtures: a clean SALESBOT_* environment, migrated and empty databases, fake token APIs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.db import create_engine
from storage.migrate import upgrade_to_head
from tests import pg
from tests.core.conftest import team  # noqa: F401 - the seeded sales team, shared
from tests.ops.fake_tokens import FakeTokens

SALESBOT = Path(sys.executable).parent / "salesbot"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No SALESBOT_* setting from the caller's shell, no salesbot.toml: only what a test sets."""
    for key in list(os.environ):
        if key.startswith("SALESBOT_") and key != "SALESBOT_TEST_PG_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SALESBOT_ASR_ENGINE", "none")
    return monkeypatch


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database file."""
    url = f"sqlite+aiosqlite:///{tmp_path}/salesbot.db"
    asyncio.run(_migrate(url))
    return url


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists and has no tables at all, of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = asyncio.run(pg.create_database_from("template0"))
    yield pg.url_for(name)
    pg.drop_database_sync(name)


@pytest.fixture
async def fake_tokens() -> AsyncIterator[FakeTokens]:
    fake = FakeTokens()
    await fake.start()
    yield fake
    await fake.close()
