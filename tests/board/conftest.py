"""The board over real HTTP: the seeded team of tests/core, an aiohttp server, one client each."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from bot.web import BoardDeps, setup_board
from config.settings import Settings
from tests.core.conftest import (  # noqa: F401  (fixtures shared with tests/core)
    SeededTeam,
    db_url,
    engine,
    pg_database,
    sqlite_template,
    team,
)

LINK = re.compile(r"(https?://[^/\s]+)(/board/login\?t=[\w-]+)")


def board_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"public_url": "http://127.0.0.1", "asr_engine": "none"}
    values.update(overrides)
    return Settings(**values)


class Board:
    """A running board and a way to get a signed-in browser-like client for any seeded user."""

    def __init__(self, seeded: SeededTeam, server: TestServer) -> None:
        self.team = seeded
        self.server = server
        self.clients: list[TestClient[Any, Any]] = []

    async def client(self) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(self.server, cookie_jar=CookieJar(unsafe=True))
        await client.start_server()
        self.clients.append(client)
        return client

    async def link_for(self, user: str) -> str:
        """What `看板` answers `user` in chat: the path and query of the link."""
        answer = await self.team.talk(user, "看板")
        found = LINK.search(answer)
        assert found, answer
        return found.group(2)

    async def signed_in(self, user: str) -> TestClient[Any, Any]:
        client = await self.client()
        response = await client.get(await self.link_for(user), allow_redirects=False)
        assert response.status == 303, await response.text()
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


async def start_board(
    seeded: SeededTeam,
    settings: Settings,
    *,
    routes: list[web.RouteDef] | None = None,
    **deps: Any,
) -> tuple[Board, TestServer]:
    seeded.ctx = dataclasses.replace(seeded.ctx, public_url=settings.public_url)
    app = web.Application()
    app.router.add_routes(routes or [])
    setup_board(
        app,
        BoardDeps(
            settings=settings,
            rules=seeded.ctx.rules,
            clock=seeded.clock,
            sessions=seeded.sessions,
            **deps,
        ),
    )
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    return Board(seeded, server), server


@pytest.fixture
async def board(team: SeededTeam) -> AsyncIterator[Board]:  # noqa: F811  (the fixture)
    running, server = await start_board(team, board_settings())
    yield running
    await running.close()
    await server.close()


SignIn = Callable[[str], Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def sign_in(board: Board) -> SignIn:
    return board.signed_in
