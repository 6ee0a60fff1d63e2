"""The 智能机器人 long connection: subscribe, heartbeat, callbacks stored in order, backoff.

Our own client on `websockets` (asyncio) rather than wecom-aibot-python-sdk 1.0.2 (MIT, WeCom's
port of aibot-node-sdk), read before deciding: it hands callbacks to pyee listeners without
waiting for them (nothing can be stored before the next frame is read, no back-pressure), starts
tasks it keeps no reference to, reconnects by recursion (`connect` → `_schedule_reconnect` →
`connect`), gives up after 10 attempts by default, does not act on `disconnected_event` (the
Node SDK does), and opens a new HTTP session per download. See docs/WECOM_BOT.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from bot.wecom_bot import frames

log = structlog.get_logger()

OnCallback = Callable[[str, dict[str, Any]], Awaitable[None]]  # raw frame text, parsed frame
MAX_FRAME_BYTES = 4 * 1024 * 1024
MISSED_PINGS = 2  # unanswered heartbeats before the connection counts as dead (as the SDKs)


class BotUnavailable(Exception):
    """Not connected, or no answer in time: try again later."""


class BotError(Exception):
    """WeCom answered our frame with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class BotConnection:
    def __init__(
        self,
        *,
        url: str,
        bot_id: str,
        secret: str,
        on_callback: OnCallback,
        heartbeat_s: float = 30.0,
        backoff_s: tuple[float, float] = (1.0, 30.0),
        answer_timeout_s: float = 5.0,
    ) -> None:
        self.url, self.bot_id, self.secret = url, bot_id, secret
        self.on_callback = on_callback
        self.heartbeat_s = heartbeat_s
        self.backoff_s = backoff_s
        self.answer_timeout_s = answer_timeout_s
        self.connected = False
        self.replaced = False  # WeCom said a newer connection took over: never reconnect
        self.detail = "not connected"
        self.subscribes = 0
        self._ws: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._failures = 0
        self._missed = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, and reconnect with backoff, until `stop` is set or the bot is replaced."""
        while not stop.is_set() and not self.replaced:
            if self._failures:
                low, high = self.backoff_s
                delay = min(high, low * 2 ** (self._failures - 1)) * (1 + random.random() / 4)  # noqa: S311
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
            self._failures += 1
            try:
                await self._session(stop)
            except (
                OSError,
                InvalidHandshake,
                InvalidURI,
                TimeoutError,
                ConnectionClosed,
                BotUnavailable,
            ) as err:
                self.detail = f"reconnecting: {type(err).__name__}: {err}"[:300]
                log.warning(
                    "wecom_bot_connection_lost", problem=self.detail, failures=self._failures
                )
            except BotError as err:
                self.detail = f"subscribe refused: {err}"
                log.error("wecom_bot_subscribe_failed", errcode=err.errcode, errmsg=err.errmsg)
            finally:
                self._down()

    async def _session(self, stop: asyncio.Event) -> None:
        async with connect(
            self.url, open_timeout=10, ping_interval=None, close_timeout=5, max_size=MAX_FRAME_BYTES
        ) as ws:
            self._ws = ws
            await self._subscribe(ws)
            self.connected, self.detail, self._failures, self._missed = True, "connected", 0, 0
            log.info("wecom_bot_connected", url=self.url, subscribes=self.subscribes)
            closer = asyncio.create_task(self._close_on(stop, ws), name="wecom-bot-stop")
            beat = asyncio.create_task(self._heartbeat(ws), name="wecom-bot-heartbeat")
            try:
                async for raw in ws:
                    if await self._frame(raw if isinstance(raw, str) else raw.decode()):
                        return
            finally:
                closer.cancel()
                beat.cancel()
                await asyncio.gather(closer, beat, return_exceptions=True)

    async def _subscribe(self, ws: ClientConnection) -> None:
        req_id = f"{frames.SUBSCRIBE}_{uuid.uuid4().hex}"
        body = {"bot_id": self.bot_id, "secret": self.secret}
        await ws.send(
            json.dumps({"cmd": frames.SUBSCRIBE, "headers": {"req_id": req_id}, "body": body})
        )
        self.subscribes += 1
        async with asyncio.timeout(self.answer_timeout_s * 2):
            while True:  # the auth result is the frame that answers our req_id
                raw = await ws.recv()
                answer = json.loads(raw)
                if (
                    isinstance(answer, dict)
                    and (answer.get("headers") or {}).get("req_id") == req_id
                ):
                    break
                await self._frame(raw if isinstance(raw, str) else raw.decode())  # never dropped
        if answer.get("errcode", 0) != 0:
            raise BotError(int(answer.get("errcode") or -1), str(answer.get("errmsg") or ""))

    async def _frame(self, raw: str) -> bool:
        """Handle one frame; True when this connection is finished (replaced)."""
        try:
            frame = json.loads(raw)
        except json.JSONDecodeError:
            log.warning("wecom_bot_bad_frame", size=len(raw))
            return False
        if not isinstance(frame, dict):
            return False
        cmd = frame.get("cmd")
        if cmd in (frames.MSG_CALLBACK, frames.EVENT_CALLBACK):
            if frames.is_disconnected_event(frame):
                self.replaced = True
                self.detail = "replaced by a newer connection; not reconnecting (restart to retake)"
                log.error("wecom_bot_replaced", detail=self.detail)
                return True
            # Stored before the next frame is read: the inbox is the acknowledgement.
            try:
                await self.on_callback(raw, frame)
            except Exception as err:  # the database is down: drop the line, come back later
                log.exception("wecom_bot_store_failed")
                raise BotUnavailable("could not store a callback") from err
            return False
        req_id = str((frame.get("headers") or {}).get("req_id") or "")
        if req_id.startswith(frames.PING):
            self._missed = 0
        waiter = self._pending.pop(req_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(frame)
        return False

    async def _heartbeat(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            if self._missed >= MISSED_PINGS:
                log.warning("wecom_bot_heartbeat_lost", missed=self._missed)
                await ws.close(code=4000, reason="heartbeat lost")
                return
            self._missed += 1
            req_id = f"{frames.PING}_{uuid.uuid4().hex}"
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps({"cmd": frames.PING, "headers": {"req_id": req_id}}))

    async def _close_on(self, stop: asyncio.Event, ws: ClientConnection) -> None:
        await stop.wait()  # the reader finishes the frame it is storing, then sees the close
        await ws.close(code=1000, reason="shutting down")

    def _down(self) -> None:
        self.connected, self._ws = False, None
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(BotUnavailable("connection closed"))
        self._pending.clear()

    async def request(
        self, cmd: str, body: dict[str, Any], *, req_id: str | None = None
    ) -> dict[str, Any]:
        """Send one frame and wait for WeCom's answer to it (same req_id)."""
        ws = self._ws
        if ws is None or not self.connected:
            raise BotUnavailable(self.detail)
        req_id = req_id or f"{cmd}_{uuid.uuid4().hex}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = waiter
        try:
            await ws.send(json.dumps({"cmd": cmd, "headers": {"req_id": req_id}, "body": body}))
            answer = await asyncio.wait_for(waiter, self.answer_timeout_s)
        except (ConnectionClosed, TimeoutError) as err:
            raise BotUnavailable(f"{cmd}: {type(err).__name__}") from err
        finally:
            self._pending.pop(req_id, None)
        if answer.get("errcode", 0) != 0:
            raise BotError(int(answer.get("errcode") or -1), str(answer.get("errmsg") or ""))
        return answer
