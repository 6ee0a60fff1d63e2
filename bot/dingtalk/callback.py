"""HTTP mode: POST /dingtalk/callback checks the sign, stores the message in the inbox, answers."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from bot.adapter import AdapterDeps
from bot.dingtalk import cards
from bot.dingtalk.events import card_message_key, parse_card_callback, parse_robot_message
from bot.dingtalk.signing import check_callback
from bot.metrics import CALLBACK_SECONDS, CALLBACKS, REJECTIONS
from storage.inbox import store_event

log = structlog.get_logger()
PLATFORM = "dingtalk"


async def save_message(deps: AdapterDeps, message_key: str, payload: str) -> bool:
    """Insert-or-ignore into the inbox (HTTP and Stream alike); True if it was new."""
    new = await store_event(
        deps.sessions,
        platform=PLATFORM,
        message_key=message_key,
        payload=payload,
        now=deps.clock.now(),
    )
    CALLBACKS.labels(PLATFORM, "new" if new else "duplicate").inc()
    if new:
        deps.wake_inbox()
    return new


def callback_routes(deps: AdapterDeps) -> list[web.RouteDef]:
    secret = deps.settings.dingtalk_app_secret or ""
    max_bytes = deps.settings.callback_max_bytes

    async def receive(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            return await _receive(request)
        finally:
            CALLBACK_SECONDS.labels(PLATFORM).observe(time.perf_counter() - started)

    async def _receive(request: web.Request) -> web.Response:
        now_ms = int(deps.clock.now().timestamp() * 1000)
        problem = check_callback(
            request.headers.get("timestamp"),
            request.headers.get("sign"),
            secret=secret,
            now_ms=now_ms,
        )
        if problem:
            return _reject(401, problem, request)
        if request.content_length is not None and request.content_length > max_bytes:
            return _reject(413, "too_large", request)
        body = await request.read()
        if len(body) > max_bytes:
            return _reject(413, "too_large", request)
        try:
            payload = body.decode("utf-8")
            message = parse_robot_message(payload)
        except ValueError as err:  # UnicodeDecodeError is a ValueError too
            return _reject(400, "malformed", request, detail=str(err))
        await save_message(deps, message.msg_id, payload)
        # Replies go through the outbox (sessionWebhook or robot API), never in this answer.
        return web.json_response({})

    routes = [web.post("/dingtalk/callback", receive)]
    if deps.settings.dingtalk_card_template_id:
        routes.append(web.post(cards.CALLBACK_PATH, _card_receiver(deps)))
    return routes


def _card_receiver(deps: AdapterDeps) -> Callable[[web.Request], Awaitable[web.Response]]:
    """HTTP-mode card clicks: the registered URL's token (only DingTalk knows it) is the check."""
    token = cards.callback_token(deps.settings.dingtalk_app_secret or "")
    max_bytes = deps.settings.callback_max_bytes

    async def receive_card(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.query.get("t", ""), token):
            return _reject(401, "bad_card_token", request)
        body = await request.content.read(max_bytes + 1)
        if len(body) > max_bytes:
            return _reject(413, "too_large", request)
        try:
            payload = body.decode("utf-8")
            parse_card_callback(payload)
        except ValueError as err:
            return _reject(400, "malformed", request, detail=str(err))
        await save_message(deps, card_message_key(payload), payload)
        return web.json_response({})  # the card is updated through the API, from the outbox

    return receive_card


def _reject(status: int, reason: str, request: web.Request, detail: str = "") -> web.Response:
    REJECTIONS.labels(PLATFORM, reason).inc()
    log.warning("dingtalk_callback_rejected", reason=reason, detail=detail, remote=request.remote)
    return web.json_response({"error": reason}, status=status)
