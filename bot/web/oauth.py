"""Platform sign-in for the board: WeCom 网页授权 (snsapi_base) and DingTalk 免登 (auth code).

Both end in the same board session as a `看板` link; a platform user with no salesbot account,
or a deactivated one, gets the 'open 看板 in chat' page and a 403.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import structlog
from aiohttp import web
from sqlalchemy import select

from bot.web.auth import see_other, start_session
from bot.web.deps import BOARD, BoardDeps
from bot.web.render import render
from storage.models import User

log = structlog.get_logger()

STATE_COOKIE = "salesbot_oauth_state"
CODE_MAX_LEN = 512  # WeCom: "code长度最大为512字节"


async def wecom_start(request: web.Request) -> web.StreamResponse:
    """Send the WeCom in-app browser to the silent authorization page (snsapi_base)."""
    deps = request.app[BOARD]
    if deps.wecom is None:
        return _refused(request, deps, "企业微信未配置", status=404)
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "appid": deps.settings.wecom_corp_id or "",
            "redirect_uri": f"{deps.settings.public_url}/board/login/wecom/callback",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
            "agentid": str(deps.settings.wecom_agent_id or ""),
        }
    )
    base = deps.settings.wecom_oauth_base.rstrip("/")
    response = see_other(f"{base}/connect/oauth2/authorize?{query}#wechat_redirect")
    _set_state(response, deps, state, request)
    return response


async def wecom_callback(request: web.Request) -> web.StreamResponse:
    """?code=…&state=…: code → WeCom userid (cgi-bin/auth/getuserinfo) → board session."""
    deps = request.app[BOARD]
    if deps.wecom is None:
        return _refused(request, deps, "企业微信未配置", status=404)
    code = _checked_code(request)
    if code is None:
        return _refused(request, deps, "登录链接无效，请从应用菜单重新打开", status=400)
    try:
        answer = await deps.wecom.get_with_token("auth/getuserinfo", {"code": code})
    except Exception as err:  # WeComError / WeComUnavailable: say so, never a traceback
        log.info("board_wecom_login_failed", error=repr(err))
        return _refused(request, deps, "企业微信没有确认你的身份，请重新打开", status=403)
    userid = str(answer.get("userid") or answer.get("UserId") or "")
    return await _finish(request, deps, User.wecom_userid, userid, via="wecom")


async def dingtalk_start(request: web.Request) -> web.StreamResponse:
    """?code=…: a 免登 code from the DingTalk micro-app (requestAuthCode) → board session."""
    deps = request.app[BOARD]
    if deps.dingtalk is None:
        return _refused(request, deps, "钉钉未配置", status=404)
    code = request.query.get("code", "")
    if not code or len(code) > CODE_MAX_LEN:
        return _refused(request, deps, "请从钉钉工作台打开销售作战室", status=400)
    return await _dingtalk_code(request, deps, code)


async def dingtalk_callback(request: web.Request) -> web.StreamResponse:
    """The same with a state check, for a redirect that comes back to us."""
    deps = request.app[BOARD]
    if deps.dingtalk is None:
        return _refused(request, deps, "钉钉未配置", status=404)
    code = _checked_code(request, name="authCode") or _checked_code(request)
    if code is None:
        return _refused(request, deps, "登录链接无效，请从钉钉工作台重新打开", status=400)
    return await _dingtalk_code(request, deps, code)


async def _dingtalk_code(request: web.Request, deps: BoardDeps, code: str) -> web.StreamResponse:
    try:
        answer = await deps.dingtalk.call_oapi("/topapi/v2/user/getuserinfo", {"code": code})
    except Exception as err:  # ApiError: an expired or used code, a wrong app
        log.info("board_dingtalk_login_failed", error=repr(err))
        return _refused(request, deps, "钉钉没有确认你的身份，请重新打开", status=403)
    userid = str((answer.get("result") or {}).get("userid") or "")
    return await _finish(request, deps, User.dingtalk_userid, userid, via="dingtalk")


async def _finish(
    request: web.Request, deps: BoardDeps, column: object, userid: str, *, via: str
) -> web.StreamResponse:
    if not userid:
        return _refused(request, deps, "没有识别出你的账号", status=403)
    async with deps.sessions() as db, db.begin():
        user = (await db.execute(select(User).where(column == userid))).scalar_one_or_none()  # type: ignore[arg-type]
        if user is None or not user.active:
            log.info("board_platform_login_refused", via=via)
            return _refused(request, deps, "你还不是 salesbot 用户，或账号已停用", status=403)
        response = await start_session(request, db, deps, user, via=via)
    response.del_cookie(STATE_COOKIE, path="/board/login")
    return response


def _checked_code(request: web.Request, *, name: str = "code") -> str | None:
    code = request.query.get(name, "")
    state = request.query.get("state", "")
    expected = request.cookies.get(STATE_COOKIE, "")
    if not code or len(code) > CODE_MAX_LEN or not expected:
        return None
    return code if secrets.compare_digest(state, expected) else None


def _set_state(response: web.Response, deps: BoardDeps, state: str, request: web.Request) -> None:
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=600,
        path="/board/login",
        httponly=True,
        samesite="Lax",
        secure=deps.secure_cookies or request.secure,
    )


def _refused(request: web.Request, deps: BoardDeps, message: str, *, status: int) -> web.Response:
    return render(
        request,
        "message.html",
        {"title": "无法登录", "message": message, "chat_hint": True},
        status=status,
    )
