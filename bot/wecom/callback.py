"""WeCom callback routes: verify, decrypt, store the message in the inbox, and answer at once."""

from __future__ import annotations

import time

import structlog
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.adapter import AdapterDeps
from bot.body import BodyRefused, read_body
from bot.metrics import CALLBACK_SECONDS, CALLBACKS, REJECTIONS
from bot.wecom.crypto import CallbackCrypto, Rejected, Signed
from bot.wecom.events import message_key, read_inbound
from storage.inbox import store_event

PATH = "/wecom/callback"
PLATFORM = "wecom"

log = structlog.get_logger()


class CallbackRoutes:
    """GET answers WeCom's URL check; POST stores a genuine message and acks with an empty 200."""

    def __init__(self, deps: AdapterDeps, crypto: CallbackCrypto) -> None:
        self._deps = deps
        self._crypto = crypto
        self._max_bytes = deps.settings.callback_max_bytes
        self._read_timeout_s = deps.settings.callback_read_timeout_s

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PATH, self.verify_url), web.post(PATH, self.receive)]

    async def verify_url(self, request: web.Request) -> web.Response:
        try:
            signed = Signed.from_query(request.query)
            echostr = request.query.get("echostr", "")
            plain = self._crypto.verify_url(signed, echostr, now=self._deps.clock.now())
        except Rejected as err:
            return _refuse(err)
        log.info("wecom_url_verified")
        return web.Response(text=plain)

    async def receive(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            signed = Signed.from_query(request.query)
            body = await read_limited(request, self._max_bytes, self._read_timeout_s)
            xml = self._crypto.open(body, signed, now=self._deps.clock.now())
            try:
                inbound = read_inbound(xml)
            except ValueError as err:
                raise Rejected(400, "malformed") from err
        except Rejected as err:
            return _refuse(err)
        if not inbound.is_answered:
            CALLBACKS.labels(platform=PLATFORM, outcome="ignored").inc()
            return _ack(started)
        # WeCom redelivers after 5 s: the insert is the only work before the answer.
        try:
            is_new = await store_event(
                self._deps.sessions,
                platform=PLATFORM,
                message_key=message_key(inbound),
                payload=xml,
                now=self._deps.clock.now(),
            )
        except ValueError as err:  # what the inbox columns cannot hold
            return _refuse(Rejected(400, "malformed"), detail=str(err)[:200])
        except (SQLAlchemyError, OSError) as err:
            # One line per request, no traceback: a database outage would otherwise flood the log.
            log.error("wecom_inbox_store_failed", msg_type=inbound.msg_type, error=repr(err)[:300])
            REJECTIONS.labels(platform=PLATFORM, reason="store_failed").inc()
            return web.Response(status=503)  # not acked: WeCom will deliver it again
        CALLBACKS.labels(platform=PLATFORM, outcome="new" if is_new else "duplicate").inc()
        if is_new:
            self._deps.wake_inbox()
        return _ack(started)


async def read_limited(request: web.Request, max_bytes: int, timeout_s: float) -> bytes:
    """The request body, refused past max_bytes without reading the rest, or past timeout_s."""
    try:
        return await read_body(request, max_bytes=max_bytes, timeout_s=timeout_s)
    except BodyRefused as err:
        if err.status == 413:
            raise Rejected(400, "oversize") from None
        raise Rejected(err.status, err.reason) from None


def _ack(started: float) -> web.Response:
    CALLBACK_SECONDS.labels(platform=PLATFORM).observe(time.perf_counter() - started)
    return web.Response(text="")


def _refuse(err: Rejected, *, detail: str = "") -> web.Response:
    REJECTIONS.labels(platform=PLATFORM, reason=err.reason).inc()
    log.info("wecom_callback_rejected", reason=err.reason, status=err.status, detail=detail)
    return web.Response(status=err.status, text=err.reason)
