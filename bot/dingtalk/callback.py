"""HTTP mode: POST /dingtalk/callback checks the sign, stores the message in the inbox, answers."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.adapter import AdapterDeps
from bot.body import BodyRefused, read_body
from bot.dingtalk import cards
from bot.dingtalk.events import card_message_key, parse_card_callback, parse_robot_message
from bot.dingtalk.signing import check_callback, signature_expiry
from bot.metrics import CALLBACK_SECONDS, CALLBACKS, REJECTIONS
from storage.inbox import store_event
from storage.replay import claim_signature

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
    read_timeout_s = deps.settings.callback_read_timeout_s

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
        try:
            body = await read_body(request, max_bytes=max_bytes, timeout_s=read_timeout_s)
        except BodyRefused as err:
            return _reject(err.status, err.reason, request)
        try:
            payload = body.decode("utf-8")
            message = parse_robot_message(payload)
        except ValueError as err:  # UnicodeDecodeError is a ValueError too
            return _reject(400, "malformed", request, detail=str(err)[:200])
        try:
            # The sign covers only the timestamp: one header pair signs one message, ever.
            fresh = await claim_signature(
                deps.sessions,
                platform=PLATFORM,
                signature=f"{request.headers['timestamp']}:{request.headers['sign']}",
                message_key=message.msg_id,
                expires_at=signature_expiry(request.headers["timestamp"]),
            )
            if not fresh:
                return _reject(401, "replayed_signature", request, detail=message.msg_id[:64])
            await save_message(deps, message.msg_id, payload)
        except ValueError as err:  # what the inbox columns cannot hold
            return _reject(400, "malformed", request, detail=str(err)[:200])
        except (SQLAlchemyError, OSError) as err:
            # Not acked: DingTalk may deliver it again. One line, no traceback per request.
            return _reject(503, "store_failed", request, detail=type(err).__name__)
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
    read_timeout_s = deps.settings.callback_read_timeout_s

    async def receive_card(request: web.Request) -> web.Response:
        # Bytes, not str: compare_digest raises on a non-ASCII str (a 500, not a 401).
        if not hmac.compare_digest(request.query.get("t", "").encode(), token.encode()):
            return _reject(401, "bad_card_token", request)
        try:
            body = await read_body(request, max_bytes=max_bytes, timeout_s=read_timeout_s)
        except BodyRefused as err:
            return _reject(err.status, err.reason, request)
        try:
            payload = body.decode("utf-8")
            parse_card_callback(payload)
        except ValueError as err:
            return _reject(400, "malformed", request, detail=str(err)[:200])
        try:
            await save_message(deps, card_message_key(payload), payload)
        except ValueError as err:
            return _reject(400, "malformed", request, detail=str(err)[:200])
        except (SQLAlchemyError, OSError) as err:
            return _reject(503, "store_failed", request, detail=type(err).__name__)
        return web.json_response({})  # the card is updated through the API, from the outbox

    return receive_card


def _reject(status: int, reason: str, request: web.Request, detail: str = "") -> web.Response:
    REJECTIONS.labels(PLATFORM, reason).inc()
    log.warning("dingtalk_callback_rejected", reason=reason, detail=detail, remote=request.remote)
    return web.json_response({"error": reason}, status=status)
