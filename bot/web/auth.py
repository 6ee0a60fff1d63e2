"""Board sign-in: one-time chat links, session and screen cookies, CSRF, the page guard."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.web.deps import BOARD, BoardDeps
from bot.web.render import render
from handlers.board.scope import Forbidden
from storage import audit, board_auth
from storage.models import User

log = structlog.get_logger()

SESSION_COOKIE = "salesbot_board"
SCREEN_COOKIE = "salesbot_screen"
SCREEN_MAX_AGE_S = 400 * 24 * 3600  # browsers cap cookies at 400 days; the token has no expiry
TOKEN_MAX_LEN = 100


@dataclass(frozen=True, slots=True)
class Viewer:
    user: User  # for a screen: its creator, whose view it shows
    session_token: str | None = None
    screen_id: int | None = None

    @property
    def is_screen(self) -> bool:
        return self.screen_id is not None

    @property
    def csrf(self) -> str:
        return board_auth.csrf_token_for(self.session_token) if self.session_token else ""


PageHandler = Callable[[web.Request, AsyncSession, Viewer], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def board_page(*, screen_ok: bool = False) -> Callable[[PageHandler], Handler]:
    """Open a transaction, find the viewer (or send them to the sign-in page), answer 403s."""

    def wrap(fn: PageHandler) -> Handler:
        @functools.wraps(fn)
        async def handler(request: web.Request) -> web.StreamResponse:
            deps = request.app[BOARD]
            async with deps.sessions() as db, db.begin():
                viewer = await resolve_viewer(request, db, deps)
                if viewer is None:
                    if request.path.endswith(".csv") or request.query.get("fragment"):
                        return _no_store(
                            web.Response(status=401, text="请先在聊天里发「看板」登录")
                        )
                    raise web.HTTPFound("/board/login")
                if viewer.is_screen and not screen_ok:
                    return forbidden(request, deps, "大屏只显示作战室")
                try:
                    response = await fn(request, db, viewer)
                except Forbidden as err:
                    log.info("board_forbidden", user_id=viewer.user.id, what=str(err))
                    return forbidden(request, deps, "你没有查看这项内容的权限")
            return _no_store(response)

        return handler

    return wrap


async def resolve_viewer(request: web.Request, db: AsyncSession, deps: BoardDeps) -> Viewer | None:
    now = deps.clock.now()
    token = _cookie(request, SESSION_COOKIE)
    if token:
        user = await board_auth.session_user(db, token, now=now)
        if user is not None:
            return Viewer(user, session_token=token)
    screen_token = _cookie(request, SCREEN_COOKIE)
    if screen_token:
        screen = await board_auth.screen_for(db, screen_token)
        if screen is not None:
            return Viewer(screen.owner, screen_id=screen.id)
    return None


async def board_session_user(request: web.Request, db: AsyncSession) -> User | None:
    """The signed-in board user of this request, for other routes that accept a board session
    (GET /media/voice/<id>); a screen token is not a user and gives None, as does no board."""
    deps = request.app.get(BOARD)
    token = _cookie(request, SESSION_COOKIE)
    if deps is None or not token:
        return None
    return await board_auth.session_user(db, token, now=deps.clock.now())


def forbidden(request: web.Request, deps: BoardDeps, message: str) -> web.Response:
    return render(request, "message.html", {"title": "无权查看", "message": message}, status=403)


async def login(request: web.Request) -> web.StreamResponse:
    """GET /board/login?t=… opens a session; without t, the 'open 看板 in chat' page."""
    deps = request.app[BOARD]
    raw = request.query.get("t", "")
    if not raw:
        return _no_store(render(request, "login.html", _login_context(deps)))
    if len(raw) > TOKEN_MAX_LEN:
        return _no_store(render(request, "login.html", _login_context(deps, bad=True), status=400))
    now = deps.clock.now()
    async with deps.sessions() as db, db.begin():
        user_id = await board_auth.redeem_login_token(db, raw, now=now)
        user = await db.get(User, user_id) if user_id is not None else None
        if user is None or not user.active:
            log.info("board_login_refused")
            return _no_store(
                render(request, "login.html", _login_context(deps, bad=True), status=403)
            )
        return await start_session(request, db, deps, user, via="link")


async def start_session(
    request: web.Request, db: AsyncSession, deps: BoardDeps, user: User, *, via: str
) -> web.StreamResponse:
    """Open a board session for `user` (audited) and send the browser to the 作战室."""
    now = deps.clock.now()
    token = await board_auth.open_session(db, user.id, now=now, via=via)
    audit.record(
        db,
        at=now,
        actor_id=user.id,
        action="board_login",
        entity="user",
        entity_id=user.id,
        note=f"via {via}",
    )
    response = see_other("/board")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(board_auth.SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=deps.secure_cookies or request.secure,
    )
    log.info("board_login", user_id=user.id, via=via)
    return _no_store(response)


async def screen_login(request: web.Request) -> web.StreamResponse:
    """GET /board/screen?s=…: a meeting-room screen keeps its token in a long-lived cookie."""
    deps = request.app[BOARD]
    raw = request.query.get("s", "")
    async with deps.sessions() as db:
        screen = await board_auth.screen_for(db, raw) if 0 < len(raw) <= TOKEN_MAX_LEN else None
    if screen is None:
        return _no_store(render(request, "login.html", _login_context(deps, bad=True), status=403))
    response = see_other("/board?tv=1")
    response.set_cookie(
        SCREEN_COOKIE,
        raw,
        max_age=SCREEN_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=deps.secure_cookies or request.secure,
    )
    return _no_store(response)


@board_page()
async def logout_page(request: web.Request, db: AsyncSession, viewer: Viewer) -> web.Response:
    return render(request, "logout.html", {"viewer": viewer})


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /board/logout with the session's CSRF token: close the session, clear the cookie."""
    deps = request.app[BOARD]
    token = _cookie(request, SESSION_COOKIE)
    form = await request.post()
    offered = str(form.get("csrf", ""))
    if not token or not offered or not board_auth.csrf_matches(token, offered):
        return render(
            request,
            "message.html",
            {"title": "请求无效", "message": "页面已过期，请刷新后再试"},
            status=403,
        )
    now = deps.clock.now()
    async with deps.sessions() as db, db.begin():
        user = await board_auth.session_user(db, token, now=now)
        await board_auth.close_session(db, token, now=now)
        if user is not None:
            audit.record(
                db,
                at=now,
                actor_id=user.id,
                action="board_logout",
                entity="user",
                entity_id=user.id,
            )
    response = see_other("/board/login?bye=1")
    response.del_cookie(SESSION_COOKIE, path="/")
    return _no_store(response)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _login_context(deps: BoardDeps, *, bad: bool = False) -> dict[str, object]:
    return {
        "bad": bad,
        "wecom": deps.settings.wecom_enabled,
        "dingtalk": deps.settings.dingtalk_enabled,
    }


def _cookie(request: web.Request, name: str) -> str | None:
    value = request.cookies.get(name)
    return value if value and len(value) <= TOKEN_MAX_LEN else None


def _no_store(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Cache-Control"] = "no-store"
    return response
