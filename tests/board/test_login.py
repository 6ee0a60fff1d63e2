"""Signing in to the board: one-time chat links, the session cookie, logout with CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from storage.board_auth import hash_token
from storage.board_models import BoardLoginToken, BoardSession
from storage.models import AuditEntry, User
from tests.board.conftest import LINK, Board, board_settings, start_board
from tests.core.conftest import SeededTeam


async def test_the_chat_answers_a_personal_link_under_the_public_url(board: Board) -> None:
    answer = await board.team.talk("王磊", "看板")
    found = LINK.search(answer)
    assert found is not None
    assert found.group(1) == "http://127.0.0.1"
    assert "10 分钟" in answer


async def test_the_link_is_stored_hashed_and_bound_to_the_user(board: Board) -> None:
    link = await board.link_for("王磊")
    raw = link.split("t=", 1)[1]
    async with board.team.sessions() as db:
        [row] = (await db.execute(select(BoardLoginToken))).scalars().all()
    assert row.token_hash == hash_token(raw)
    assert raw not in row.token_hash
    assert row.user_id == board.team.users["王磊"]
    assert row.expires_at == board.team.clock.now() + timedelta(minutes=10)


async def test_opening_the_link_sets_an_http_only_lax_cookie_for_eight_hours(board: Board) -> None:
    client = await board.client()
    response = await client.get(await board.link_for("王磊"), allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/board"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    page = await client.get("/board")
    assert page.status == 200
    assert "王磊" in await page.text()


async def test_behind_https_the_cookie_is_secure(team: SeededTeam) -> None:
    running, server = await start_board(team, board_settings(public_url="https://crm.example.com"))
    try:
        client = await running.client()
        response = await client.get(await running.link_for("王磊"), allow_redirects=False)
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        await running.close()
        await server.close()


async def test_a_link_opens_only_once(board: Board) -> None:
    link = await board.link_for("王磊")
    first = await board.client()
    assert (await first.get(link, allow_redirects=False)).status == 303
    second = await board.client()
    again = await second.get(link, allow_redirects=False)
    assert again.status == 403
    assert "链接已失效" in await again.text()
    assert "Set-Cookie" not in again.headers


async def test_a_link_expires_after_ten_minutes(board: Board) -> None:
    link = await board.link_for("王磊")
    board.team.clock.advance(minutes=10, seconds=1)
    client = await board.client()
    assert (await client.get(link, allow_redirects=False)).status == 403


async def test_a_made_up_token_opens_nothing(board: Board) -> None:
    client = await board.client()
    response = await client.get("/board/login?t=" + "x" * 43, allow_redirects=False)
    assert response.status == 403


async def test_without_a_session_every_page_sends_you_to_open_the_board_in_chat(
    board: Board,
) -> None:
    client = await board.client()
    customer = board.team.customers["杭州启明科技有限公司"]
    for path in (
        "/board",
        f"/board/customers/{customer}",
        "/board/commitments",
        f"/board/reps/{board.team.users['王磊']}",
        "/board/logout",
    ):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"] == "/board/login"
    page = await client.get("/board/login")
    assert "发「" in await page.text()
    assert "看板" in await page.text()
    csv = await client.get("/board.csv", allow_redirects=False)
    assert csv.status == 401


async def test_the_session_ends_after_eight_hours(board: Board) -> None:
    client = await board.signed_in("王磊")
    board.team.clock.advance(hours=8, seconds=1)
    response = await client.get("/board", allow_redirects=False)
    assert response.status == 302


async def test_deactivating_a_user_ends_their_session(board: Board) -> None:
    client = await board.signed_in("王磊")
    async with board.team.sessions() as db, db.begin():
        user = await db.get_one(User, board.team.users["王磊"])
        user.active = False
    response = await client.get("/board", allow_redirects=False)
    assert response.status == 302


async def test_a_deactivated_user_cannot_redeem_a_link(board: Board) -> None:
    link = await board.link_for("王磊")
    async with board.team.sessions() as db, db.begin():
        (await db.get_one(User, board.team.users["王磊"])).active = False
    client = await board.client()
    assert (await client.get(link, allow_redirects=False)).status == 403


async def test_logout_without_the_csrf_token_is_refused(board: Board) -> None:
    client = await board.signed_in("王磊")
    response = await client.post("/board/logout", data={"csrf": "forged"}, allow_redirects=False)
    assert response.status == 403
    assert (await client.get("/board", allow_redirects=False)).status == 200


async def test_logout_with_the_pages_csrf_token_ends_the_session(board: Board) -> None:
    client = await board.signed_in("王磊")
    page = await (await client.get("/board")).text()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    response = await client.post(
        "/board/logout", data={"csrf": csrf.group(1)}, allow_redirects=False
    )
    assert response.status == 303
    async with board.team.sessions() as db:
        [session] = (await db.execute(select(BoardSession))).scalars().all()
    assert session.revoked_at == board.team.clock.now()
    assert (await client.get("/board", allow_redirects=False)).status == 302


async def test_logins_and_logouts_are_audited(board: Board) -> None:
    client = await board.signed_in("王磊")
    page = await (await client.get("/board")).text()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    await client.post("/board/logout", data={"csrf": csrf.group(1)}, allow_redirects=False)
    async with board.team.sessions() as db:
        stmt = select(AuditEntry.action, AuditEntry.actor_id).where(
            AuditEntry.action.like("board_%")
        )
        rows = (await db.execute(stmt)).all()
    user_id = board.team.users["王磊"]
    assert rows == [("board_login", user_id), ("board_logout", user_id)]


async def test_the_board_is_off_when_disabled(team: SeededTeam) -> None:
    from bot.app import build_app
    from bot.runtime import Runtime

    settings = board_settings(board_enabled=False, database_url="sqlite+aiosqlite://")
    runtime = await Runtime.open(settings, team.ctx.rules, team.clock)
    try:
        app = build_app(runtime, workers=False)
        assert not [r for r in app.router.resources() if r.canonical.startswith("/board")]
    finally:
        await runtime.close()


async def test_other_routes_can_read_the_board_session(team: SeededTeam) -> None:
    from aiohttp import web

    from bot.web.auth import board_session_user

    seen: list[str | None] = []

    async def probe(request: web.Request) -> web.Response:
        async with team.sessions() as db:
            user = await board_session_user(request, db)
        seen.append(user.name if user else None)
        return web.Response(text="ok")

    running, server = await start_board(team, board_settings(), routes=[web.get("/probe", probe)])
    try:
        client = await running.signed_in("王磊")
        await client.get("/probe")
        stranger = await running.client()
        await stranger.get("/probe")
    finally:
        await running.close()
        await server.close()
    assert seen == ["王磊", None]
