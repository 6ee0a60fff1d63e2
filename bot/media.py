"""GET /media/voice/<id>: a voice note's recording for playback in a browser.

Reached with a signed link (handlers/voice_media.signed_path: ?u=<user>&exp=<unix>&sig=<hmac>)
or with a board session (the 看板 cookie, bot/web/auth.py); the user must still be active and
allowed to see the recording's customer. Answers:
200 audio/ogg, 403 for a missing/bad/expired signature or a customer the user may not see,
404 for no such recording, 410 once the recording was purged after its retention time.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from aiohttp import web

from bot.runtime import Runtime
from bot.web.auth import SESSION_COOKIE
from config.settings import Settings
from handlers.voice_media import Playable, Refusal, check_signature, playable, signed_path
from storage import board_auth
from storage.models import User

_STATUS = {Refusal.NOT_FOUND: 404, Refusal.FORBIDDEN: 403, Refusal.PURGED: 410}
_TEXT = {
    Refusal.NOT_FOUND: "没有这条录音 (no such recording)",
    Refusal.FORBIDDEN: "你没有权限收听这条录音 (not allowed)",
    Refusal.PURGED: "这条录音已过保留期被删除，文字记录仍在 (purged after its retention time)",
}


def media_secret(settings: Settings) -> bytes:
    """SALESBOT_MEDIA_SECRET, else one derived from the platform secrets; b"" if there is none."""
    if settings.media_secret:
        return settings.media_secret.encode()
    base = settings.wecom_secret or settings.dingtalk_app_secret or ""
    if not base:
        return b""
    return hmac.new(base.encode(), b"salesbot media links", hashlib.sha256).digest()


def voice_link(runtime: Runtime, recording_id: int, user_id: int) -> str:
    """A signed path to the recording for `user_id`, valid SALESBOT_MEDIA_LINK_TTL_S."""
    settings = runtime.settings
    return signed_path(
        media_secret(settings),
        recording_id,
        user_id,
        now=runtime.clock.now(),
        ttl=timedelta(seconds=settings.media_link_ttl_s),
    )


def _refuse(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers={"Cache-Control": "no-store"})


async def voice_media(request: web.Request, runtime: Runtime) -> web.StreamResponse:
    raw_id = request.match_info.get("id", "")
    if not raw_id.isdigit():
        return _refuse(404, _TEXT[Refusal.NOT_FOUND])
    recording_id = int(raw_id)
    query = request.rel_url.query
    user_id = check_signature(
        media_secret(runtime.settings),
        recording_id,
        user=query.get("u", ""),
        expires=query.get("exp", ""),
        sig=query.get("sig", ""),
        now=runtime.clock.now(),
    )
    session = request.cookies.get(SESSION_COOKIE, "")
    if user_id is None and not session:
        return _refuse(403, "链接无效或已过期 (bad or expired link)")
    async with runtime.sessions() as db:
        if user_id is not None:
            user = await db.get(User, user_id)
        else:  # no link: the board session's user, if the session is live
            user = await board_auth.session_user(db, session, now=runtime.clock.now())
        if user is None or not user.active:
            return _refuse(403, _TEXT[Refusal.FORBIDDEN])
        found = await playable(db, recording_id, user)
    if not isinstance(found, Playable):
        return _refuse(_STATUS[found], _TEXT[found])
    return web.Response(
        body=found.body,
        content_type=found.content_type,
        headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"},
    )


def media_routes(runtime: Runtime) -> list[web.RouteDef]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await voice_media(request, runtime)

    return [web.get("/media/voice/{id}", handler)]
