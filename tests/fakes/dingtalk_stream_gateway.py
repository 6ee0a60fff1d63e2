"""A fake DingTalk Stream gateway in its own thread and loop: connection open, frames, acks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import threading
from typing import Any

from aiohttp import WSMsgType, web

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


class FakeStreamGateway:
    """POST /v1.0/gateway/connections/open and the websocket behind it, as the SDK meets them.

    It runs on a thread of its own: dingtalk-stream 0.24.3 opens connections with a blocking
    `requests.post`, which would deadlock a server sharing the caller's loop.
    """

    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.opens: list[dict[str, Any]] = []  # every open-connection body, failed ones too
        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        self._open_failures: list[int] = []  # HTTP statuses for the next opens
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._ack_waiters: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        self._connection_waiters: dict[int, concurrent.futures.Future[None]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name="fake-stream-gateway", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake gateway did not start")
        return self.base_url

    def close(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._connect)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        for ws in self._sockets:
            await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    # --- scripting (call from the test's thread) -----------------------------------------------
    def fail_next_opens(self, times: int, status: int = 503) -> None:
        with self._lock:
            self._open_failures.extend([status] * times)

    def connected(self, count: int) -> concurrent.futures.Future[None]:
        """Done once `count` websockets have been accepted in total."""
        with self._lock:
            future = self._connection_waiters.setdefault(count, concurrent.futures.Future())
            if self.connections >= count and not future.done():
                future.set_result(None)
            return future

    def ack_for(self, message_id: str) -> concurrent.futures.Future[dict[str, Any]]:
        with self._lock:
            future = self._ack_waiters.setdefault(message_id, concurrent.futures.Future())
            for ack in self.acks:
                if ack.get("headers", {}).get("messageId") == message_id and not future.done():
                    future.set_result(ack)
            return future

    async def send_callback(
        self,
        data: dict[str, Any],
        *,
        topic: str = ROBOT_TOPIC,
        message_id: str | None = None,
        connection: int = -1,
    ) -> str:
        """A CALLBACK frame on one open connection (default: the newest); returns its messageId."""
        message_id = message_id or f"cb-{next(self._ids)}"
        await self._send(self._frame("CALLBACK", topic, message_id, data), connection)
        return message_id

    async def send_ping(self) -> str:
        message_id = f"ping-{next(self._ids)}"
        await self._send(self._frame("SYSTEM", "ping", message_id, {"opaque": message_id}))
        return message_id

    async def send_disconnect(self) -> str:
        message_id = f"disc-{next(self._ids)}"
        frame = self._frame("SYSTEM", "disconnect", message_id, {"reason": "connection is expired"})
        await self._send(frame)
        return message_id

    async def _send(self, frame: str, connection: int = -1) -> None:
        assert self._loop is not None, "start() the gateway first"
        future = asyncio.run_coroutine_threadsafe(self._send_here(frame, connection), self._loop)
        await asyncio.wrap_future(future)

    async def _send_here(self, frame: str, connection: int) -> None:
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise RuntimeError("no client is connected to the fake gateway")
        await open_sockets[connection].send_str(frame)

    def _frame(self, kind: str, topic: str, message_id: str, data: dict[str, Any]) -> str:
        headers = {
            "topic": topic,
            "messageId": message_id,
            "contentType": "application/json",
            "time": "1772706600000",
            "appId": "fake-app-id",
            "connectionId": f"conn-{self.connections}",
        }
        frame = {"specVersion": "1.0", "type": kind, "headers": headers, "data": json.dumps(data)}
        return json.dumps(frame, ensure_ascii=False)

    # --- the gateway ---------------------------------------------------------------------------
    async def _open(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.opens.append(body)
            failure = self._open_failures.pop(0) if self._open_failures else None
        if failure is not None:
            return web.json_response({"code": "ServiceUnavailable"}, status=failure)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return web.json_response({"code": "authFailed", "message": "鉴权失败"}, status=401)
        ticket = f"ticket-{next(self._ids)}"
        self._tickets.add(ticket)
        return web.json_response(
            {"endpoint": f"{self.base_url.replace('http', 'ws')}/connect", "ticket": ticket}
        )

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # a ticket is good for one connection only
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        with self._lock:
            self.connections += 1
            for count, future in self._connection_waiters.items():
                if self.connections >= count and not future.done():
                    future.set_result(None)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            ack = json.loads(msg.data)
            with self._lock:
                self.acks.append(ack)
                waiter = self._ack_waiters.get(ack.get("headers", {}).get("messageId", ""))
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        return ws
