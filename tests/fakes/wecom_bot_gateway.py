"""A fake WeCom 智能机器人 long-connection gateway on 127.0.0.1, port 0, speaking the doc's frames.

Frames as in developer doc 101463 and WeCom's SDKs (WecomTeam/aibot-node-sdk): the client sends
`aibot_subscribe` {bot_id, secret} and gets `{headers:{req_id}, errcode, errmsg}`; `ping` is
answered the same way; callbacks go out as `aibot_msg_callback` / `aibot_event_callback`;
`aibot_send_msg`, `aibot_respond_msg`, `aibot_respond_update_msg` are recorded and answered by
req_id. A newer subscription for the same bot gets the older one `disconnected_event`, then the
older socket is closed — one connection per bot, as the platform keeps it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.wecom_bot.media import encrypt

AUTH_FAILED = 40001  # any non-zero errcode is a refusal to the client


@dataclass
class Conn:
    ws: web.WebSocketResponse
    number: int
    subscribed: bool = False
    pings: int = 0


@dataclass
class Sent:
    cmd: str
    req_id: str
    body: dict[str, Any]
    conn: int


@dataclass
class FakeBotGateway:
    bot_id: str
    secret: str
    sent: list[Sent] = field(default_factory=list)
    subscribes: list[int] = field(default_factory=list)  # connection numbers, in order
    replaced: list[int] = field(default_factory=list)  # connections told disconnected_event
    refuse: dict[str, int] = field(default_factory=dict)  # cmd → errcode for the next such frame
    answer_pings: bool = True
    files: dict[str, bytes] = field(default_factory=dict)  # path → encrypted bytes
    url: str = ""
    base: str = ""

    def __post_init__(self) -> None:
        self._active: Conn | None = None
        self._numbers = itertools.count(1)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self.chat_of: dict[str, str] = {}  # a pushed callback's req_id → its chat

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/", self._socket)
        app.router.add_get("/media/{name}", self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"ws://127.0.0.1:{port}/"
        return self.url

    async def close(self) -> None:
        if self._active is not None:
            await self._active.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- the socket ----------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Conn(ws, next(self._numbers))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._frame(conn, json.loads(msg.data))
        finally:
            if self._active is conn:
                self._active = None
            self._changed.set()
        return ws

    async def _frame(self, conn: Conn, frame: dict[str, Any]) -> None:
        cmd, req_id = frame.get("cmd"), (frame.get("headers") or {}).get("req_id", "")
        if cmd == "aibot_subscribe":
            body = frame.get("body") or {}
            if body.get("bot_id") != self.bot_id or body.get("secret") != self.secret:
                await self._answer(conn, req_id, AUTH_FAILED, "invalid bot_id or secret")
                await conn.ws.close()
                return
            await self._answer(conn, req_id, 0, "ok")
            conn.subscribed = True
            self.subscribes.append(conn.number)
            older, self._active = self._active, conn
            if older is not None and not older.ws.closed:
                self.replaced.append(older.number)
                await older.ws.send_json(self._event_frame("disconnected_event", "system"))
                await older.ws.close()
            self._changed.set()
            return
        if not conn.subscribed:
            await conn.ws.close()
            return
        if cmd == "ping":
            conn.pings += 1
            if self.answer_pings:
                await self._answer(conn, req_id, 0, "ok")
            return
        self.sent.append(Sent(str(cmd), req_id, frame.get("body") or {}, conn.number))
        self._changed.set()
        errcode = self.refuse.pop(str(cmd), 0)
        await self._answer(conn, req_id, errcode, "ok" if not errcode else "refused")

    async def _answer(self, conn: Conn, req_id: str, errcode: int, errmsg: str) -> None:
        await conn.ws.send_json(
            {"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg}
        )

    async def _media(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    # --- what tests drive ----------------------------------------------------------------------
    @property
    def connected(self) -> int | None:
        return self._active.number if self._active is not None else None

    async def wait_for(self, probe: Any, timeout_s: float = 30.0) -> Any:
        """Wait until probe() is truthy (re-checked whenever a frame or a connection changes)."""
        async with asyncio.timeout(timeout_s):
            while not (result := probe()):
                self._changed.clear()
                with_timeout = asyncio.wait_for(self._changed.wait(), 0.2)
                with contextlib.suppress(TimeoutError):
                    await with_timeout
            return result

    async def drop(self) -> None:
        """Close the active socket from the platform's side."""
        if self._active is not None:
            await self._active.ws.close()

    def message(
        self, userid: str, msgtype: str, part: dict[str, Any], *, chatid: str | None = None,
        msgid: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        body: dict[str, Any] = {
            "msgid": msgid or f"msg{next(self._ids):06d}",
            "aibotid": self.bot_id,
            "chattype": "group" if chatid else "single",
            "from": {"userid": userid},
            "msgtype": msgtype,
            msgtype: part,
        }
        if chatid:
            body["chatid"] = chatid
        return {"cmd": "aibot_msg_callback", "headers": {"req_id": _req_id()}, "body": body}

    def text(self, userid: str, content: str, **kw: Any) -> dict[str, Any]:
        return self.message(userid, "text", {"content": content}, **kw)

    def voice(self, userid: str, content: str, **kw: Any) -> dict[str, Any]:
        return self.message(userid, "voice", {"content": content}, **kw)

    def media(self, userid: str, msgtype: str, data: bytes, **kw: Any) -> dict[str, Any]:
        aeskey = base64.b64encode(os.urandom(32)).decode().rstrip("=")
        name = f"{msgtype}{next(self._ids)}"
        self.files[name] = encrypt(data, aeskey)
        return self.message(
            userid, msgtype, {"url": f"{self.base}/media/{name}", "aeskey": aeskey}, **kw
        )

    def click(self, userid: str, event_key: str, task_id: str) -> dict[str, Any]:
        frame = self._event_frame("template_card_event", userid)
        frame["body"]["event"] |= {"event_key": event_key, "task_id": task_id}
        return frame

    def enter(self, userid: str) -> dict[str, Any]:
        return self._event_frame("enter_chat", userid)

    def _event_frame(self, eventtype: str, userid: str) -> dict[str, Any]:
        body = {
            "msgid": f"evt{next(self._ids):06d}",
            "create_time": 1_700_000_000,
            "aibotid": self.bot_id,
            "chattype": "single",
            "from": {"userid": userid},
            "msgtype": "event",
            "event": {"eventtype": eventtype},
        }
        return {"cmd": "aibot_event_callback", "headers": {"req_id": _req_id()}, "body": body}

    async def push(self, frame: dict[str, Any]) -> str:
        """Send a callback to the connected bot; returns its msgid."""
        if self._active is None:
            raise AssertionError("no bot is connected")
        body = frame["body"]
        self.chat_of[frame["headers"]["req_id"]] = body.get("chatid") or body["from"]["userid"]
        await self._active.ws.send_json(frame)
        return str(frame["body"]["msgid"])

    def sends_to(self, chatid: str) -> list[Sent]:
        """What reached this chat: pushes to it, and answers on the frames it sent."""
        return [
            s
            for s in self.sent
            if (s.cmd == "aibot_send_msg" and s.body.get("chatid") == chatid)
            or (s.cmd == "aibot_respond_msg" and self.chat_of.get(s.req_id) == chatid)
        ]


def content_of(sent: Sent) -> str:
    body = sent.body
    if body.get("msgtype") == "markdown":
        return str(body["markdown"]["content"])
    if body.get("msgtype") == "template_card":
        card = body["template_card"]
        return f"{card['main_title']['title']}\n{card.get('sub_title_text', '')}"
    if body.get("msgtype") == "stream":
        return str(body["stream"]["content"])
    return json.dumps(body, ensure_ascii=False)


def _req_id() -> str:
    return "cb_" + os.urandom(8).hex()
