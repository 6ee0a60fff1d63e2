"""Stream mode: the dingtalk-stream SDK in its own thread and loop; store each frame, then ack."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import requests
import structlog
from dingtalk_stream import AckMessage, CallbackHandler, CallbackMessage, Credential
from dingtalk_stream import DingTalkStreamClient as SdkClient
from dingtalk_stream.version import VERSION_STRING

from bot.dingtalk.events import (
    CARD_TOPIC,
    ROBOT_TOPIC,
    card_message_key,
    parse_card_callback,
    parse_robot_message,
)
from bot.metrics import STREAM_CONNECTED

log = structlog.get_logger()

Store = Callable[
    [str, str], Coroutine[Any, Any, bool]
]  # (message_key, payload) → new?; on the main loop
OPEN_PATH = "/v1.0/gateway/connections/open"
CANCEL_POLL_S = 0.05
HEALTHY_S = 5.0  # a connection that lived shorter than this does not reset the backoff
# The SDK parses a frame's `data` string; the inbox keeps it exactly as DingTalk sent it.
_RAW_DATA: contextvars.ContextVar[str | None] = contextvars.ContextVar("raw_data", default=None)


class StreamRunner:
    """Owns the SDK thread: start() from the main loop, stop() bounded, readiness() any time.

    dingtalk-stream 0.24.3 blocks its loop in `requests.post` without a timeout and swallows the
    first CancelledError, so it must not share salesbot's loop: it gets a thread and a loop of
    its own, and frames are handed to the main loop, which writes the inbox.
    """

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        api_base: str,
        store: Store,
        backoff_s: tuple[float, float] = (1.0, 60.0),
        store_timeout_s: float = 10.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        self.app_key, self.app_secret = app_key, app_secret
        self.open_url = api_base.rstrip("/") + OPEN_PATH
        self.store = store
        self.backoff_s = backoff_s
        self.store_timeout_s = store_timeout_s
        self.open_timeout_s = open_timeout_s
        self.opens = 0  # connection-open calls made, for tests and logs
        self.connected = False
        self.detail = "not started"
        self._failures = 0  # opens since the last healthy connection: drives the backoff
        self._connected_at = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._main_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._inflight: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """Start the SDK thread; call from the main loop, which will write the inbox."""
        self._main_loop = asyncio.get_running_loop()
        self.detail = "connecting"
        self._thread = threading.Thread(target=self._run, name="dingtalk-stream", daemon=True)
        self._thread.start()

    async def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop the SDK and its thread; False if the thread is still stuck after timeout_s."""
        self._stopping.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop already closed
                loop.call_soon_threadsafe(wake.set)
        if self._thread is None:
            return True
        await asyncio.to_thread(self._thread.join, timeout_s)
        stopped = not self._thread.is_alive()
        if not stopped:  # a daemon thread: it cannot hold the process, only log it
            log.warning("dingtalk_stream_stop_timeout", timeout_s=timeout_s)
        return stopped

    def readiness(self) -> tuple[bool, str]:
        return self.connected, self.detail

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception:
            log.exception("dingtalk_stream_thread_failed")
        finally:
            self.mark_connection(False, "stopped")

    async def _serve(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self._stopping.is_set():
            return
        sdk = asyncio.create_task(_Client(self).start(), name="dingtalk-sdk")
        woken = asyncio.create_task(self._wake.wait())
        await asyncio.wait({sdk, woken}, return_when=asyncio.FIRST_COMPLETED)
        woken.cancel()
        await self.finish_inflight()  # stored and acked while the socket is still open
        await self._cancel(sdk)
        await self.finish_inflight()  # whatever arrived meanwhile: let its insert commit

    async def _cancel(self, task: asyncio.Task[Any]) -> None:
        # 0.24.3 catches CancelledError, logs and sleeps 10 s: cancel again until it is done.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.store_timeout_s
        while not task.done() and loop.time() < deadline:
            task.cancel()
            await asyncio.wait({task}, timeout=CANCEL_POLL_S)

    def open_connection(self, subscriptions: list[dict[str, str]]) -> dict[str, Any] | None:
        """The SDK's open call, with a timeout and exponential backoff; None only when stopping."""
        while not self._stopping.is_set():
            if self._failures:
                low, high = self.backoff_s
                delay = min(high, low * 2 ** (self._failures - 1))
                delay *= 1 + random.random() / 4  # noqa: S311 - jitter, not crypto
                if self._stopping.wait(delay):
                    return None
            self._failures += 1  # reset only by a healthy connection: a flapping one backs off
            self.opens += 1
            body: dict[str, Any] = {
                "clientId": self.app_key,
                "clientSecret": self.app_secret,
                "subscriptions": subscriptions,
                "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union",
            }
            try:
                resp = requests.post(self.open_url, json=body, timeout=(5, self.open_timeout_s))
                if resp.status_code == 200:
                    answer = resp.json()
                    if answer.get("endpoint") and answer.get("ticket"):
                        return dict(answer)
                problem = f"open connection: HTTP {resp.status_code} {resp.text[:200]}"
            except (requests.RequestException, ValueError) as err:
                problem = f"open connection: {err!r}"
            self.mark_connection(False, problem)
            log.warning("dingtalk_stream_open_failed", problem=problem, failures=self._failures)
        return None

    async def hand_over(self, message_key: str, payload: str) -> bool:
        """Store one frame through the main loop and wait for the commit (the ack comes after)."""
        if self._main_loop is None:
            raise RuntimeError("StreamRunner.start() was not called")
        future = asyncio.run_coroutine_threadsafe(self.store(message_key, payload), self._main_loop)
        return await asyncio.wait_for(asyncio.wrap_future(future), self.store_timeout_s)

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Mark the current frame's task as busy until its ack is on the wire."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def finish_inflight(self) -> None:
        """Wait (bounded) for the callback frames being stored and acked right now."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=self.store_timeout_s)

    def mark_connection(self, connected: bool, detail: str) -> None:
        now = time.monotonic()
        if connected:
            self._connected_at = now
        elif self.connected and now - self._connected_at >= HEALTHY_S:
            self._failures = 0
        self.connected = connected
        self.detail = detail
        STREAM_CONNECTED.set(1 if connected else 0)


class _Client(SdkClient):  # type: ignore[misc]
    """The SDK client with our open call, connection tracking and raw frame data."""

    def __init__(self, runner: StreamRunner) -> None:
        super().__init__(Credential(runner.app_key, runner.app_secret), logger=_SdkLog(runner))
        self.runner = runner
        self.register_callback_handler(ROBOT_TOPIC, _FrameHandler(runner, _robot_key, "OK"))
        self.register_callback_handler(CARD_TOPIC, _FrameHandler(runner, _card_key, {}))

    def open_connection(self) -> dict[str, Any] | None:
        # The SDK reads OPEN_CONNECTION_API from its class, fixed at import from an env var:
        # overriding the call is the only way to use settings.dingtalk_api_base (and a timeout).
        topics = [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]
        return self.runner.open_connection(topics)

    async def keepalive(self, ws: Any, ping_interval: int = 60) -> None:
        # The SDK starts this once per websocket: the connection's lifetime, seen from inside.
        self.runner.mark_connection(True, f"connected (open #{self.runner.opens})")
        pinger = asyncio.create_task(super().keepalive(ws, ping_interval))
        try:
            await ws.wait_closed()
        finally:
            pinger.cancel()
            self.runner.mark_connection(False, "reconnecting")

    async def route_message(self, json_message: dict[str, Any]) -> Any:
        data = json_message.get("data")
        _RAW_DATA.set(data if isinstance(data, str) else None)
        return await super().route_message(json_message)

    async def background_task(self, json_message: dict[str, Any]) -> None:
        headers = json_message.get("headers") or {}
        if json_message.get("type") == "SYSTEM" and headers.get("topic") == "disconnect":
            # DingTalk sends nothing more on this connection: ack what is in flight, then go.
            await self.runner.finish_inflight()
        is_callback = json_message.get("type") == "CALLBACK"
        with self.runner.in_flight() if is_callback else contextlib.nullcontext():
            await super().background_task(json_message)  # stores, then acks


class _FrameHandler(CallbackHandler):  # type: ignore[misc]
    def __init__(self, runner: StreamRunner, key_of: Callable[[str], str], response: Any) -> None:
        super().__init__()
        self.runner, self.key_of, self.response = runner, key_of, response

    async def process(self, callback: CallbackMessage) -> tuple[int, Any]:
        payload = _RAW_DATA.get() or json.dumps(callback.data, ensure_ascii=False)
        try:
            key = self.key_of(payload)
        except ValueError as err:
            log.warning(
                "dingtalk_stream_frame_rejected", topic=callback.headers.topic, problem=str(err)
            )
            return AckMessage.STATUS_BAD_REQUEST, "malformed"
        try:
            await self.runner.hand_over(key, payload)
        except Exception:
            # No ack of success: DingTalk may deliver it again, and the inbox key dedupes that.
            log.exception("dingtalk_stream_store_failed", message_key=key)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "not stored"
        return AckMessage.STATUS_OK, self.response


class _SdkLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The SDK's own log, minus its complaints about the cancellations that stop it."""

    def __init__(self, runner: StreamRunner) -> None:
        super().__init__(logging.getLogger("salesbot.dingtalk.stream"), {})
        self.runner = runner

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.runner.stopping:
            return
        if msg == "endpoint is %s" and args and isinstance(args[0], dict):
            args = (args[0].get("endpoint"),)  # the SDK would log the ticket too
        super().log(level, msg, *args, **kwargs)


def _robot_key(payload: str) -> str:
    return parse_robot_message(payload).msg_id


def _card_key(payload: str) -> str:
    parse_card_callback(payload)
    return card_message_key(payload)
