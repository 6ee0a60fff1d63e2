"""A fake WeCom API on localhost: real paths and JSON, tokens that expire, scripted errors."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

AMR_BYTES = b"#!AMR\n" + bytes(range(256)) * 4  # an AMR-NB magic header and some frames
UNKNOWN_RESPONSE_CODE = (
    40058  # stand-in: WeCom's code for a used/unknown response_code is not documented
)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # without /cgi-bin/, e.g. "message/send"
    query: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived (the loop's clock)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class FakeWeCom:
    """WeCom's API as salesbot uses it; assert on `requests`, `delivered` and friends."""

    def __init__(
        self, *, corp_id: str, secret: str, agent_id: int, now: Callable[[], datetime]
    ) -> None:
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self._now = now  # WeCom's clock, for the duplicate check window
        self.requests: list[Recorded] = []
        self.delivered: list[dict[str, Any]] = []  # message/send bodies WeCom would show
        self.card_updates: list[dict[str, Any]] = []
        self.robot_messages: list[tuple[str, dict[str, Any]]] = []  # (key, body)
        self.appchat_messages: list[dict[str, Any]] = []
        self.uploads: list[tuple[str, bytes]] = []  # (type, bytes)
        self.media: dict[str, tuple[bytes, str]] = {}
        self.robot_keys: set[str] = set()
        self.known_users: set[str] | None = None  # None: every userid exists
        self.token_fetches = 0
        self.token_lifetime_s = 7200
        self._valid_tokens: set[str] = set()
        self._expired_tokens: set[str] = set()
        self._failures: dict[str, deque[tuple[int, str]]] = defaultdict(deque)
        self._task_ids: set[str] = set()
        self._response_codes: set[str] = set()
        self._seen_bodies: dict[bytes, tuple[datetime, dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._token_ids = itertools.count(1)
        self.oauth_codes: dict[str, str] = {}  # 网页授权 code → userid, each usable once
        self._server: TestServer | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/cgi-bin/{path:.+}", self._dispatch)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self.base_url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    # --- scripting -----------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every token issued so far now answers 42001, as after WeCom's 7200 s."""
        self._expired_tokens |= self._valid_tokens
        self._valid_tokens.clear()

    def fail_next(
        self, path: str, errcode: int, errmsg: str = "scripted", *, times: int = 1
    ) -> None:
        """The next `times` calls of `path` answer this errcode (before any other check)."""
        self._failures[path].extend([(errcode, errmsg)] * times)

    def add_media(
        self, media_id: str, data: bytes = AMR_BYTES, content_type: str = "audio/amr"
    ) -> None:
        self.media[media_id] = (data, content_type)

    def click_response_code(self) -> str:
        """A fresh single-use response_code, as a template_card_event callback carries."""
        code = f"rc-click-{next(self._ids)}"
        self._response_codes.add(code)
        return code

    # --- reading what was sent -----------------------------------------------------------------
    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def sent_texts(self) -> list[str]:
        return [m["text"]["content"] for m in self.delivered if m.get("msgtype") == "text"]

    def sent_cards(self) -> list[dict[str, Any]]:
        return [m["template_card"] for m in self.delivered if m.get("msgtype") == "template_card"]

    # --- the API -------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        body = await request.read()
        self.requests.append(Recorded(request.method, path, dict(request.query), body))
        if self._failures[path]:
            errcode, errmsg = self._failures[path].popleft()
            return _error(errcode, errmsg)
        if path == "gettoken":
            return self._gettoken(request)
        if path == "webhook/send":
            return self._webhook_send(request, body)
        token = request.query.get("access_token")
        if not token:
            return _error(41001, "access_token missing")
        if token in self._expired_tokens:
            return _error(42001, "access_token expired")
        if token not in self._valid_tokens:
            return _error(40014, "invalid access_token")
        handler = {
            "message/send": self._message_send,
            "message/update_template_card": self._update_card,
            "media/get": self._media_get,
            "media/upload": self._media_upload,
            "appchat/send": self._appchat_send,
            "auth/getuserinfo": self._auth_getuserinfo,
        }.get(path)
        if handler is None:
            return _error(404, f"fake has no {path}")
        return await handler(request, body)

    async def _auth_getuserinfo(self, request: web.Request, body: bytes) -> web.Response:
        userid = self.oauth_codes.pop(request.query.get("code", ""), None)
        if userid is None:
            return _error(40029, "invalid code")
        return _ok(userid=userid, user_ticket="fake-ticket", expires_in=1800)

    def _gettoken(self, request: web.Request) -> web.Response:
        self.token_fetches += 1
        if request.query.get("corpid") != self.corp_id:
            return _error(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return _error(40001, "invalid secret")
        token = f"tok-{next(self._token_ids)}"
        self._valid_tokens.add(token)
        return _ok(access_token=token, expires_in=self.token_lifetime_s)

    async def _message_send(self, request: web.Request, body: bytes) -> web.Response:
        msg = json.loads(body)
        if msg.get("agentid") != self.agent_id:
            return _error(40056, "invalid agentid")
        if not msg.get("touser"):
            return _error(82001, "All touser & toparty & totag invalid")
        if self.known_users is not None and msg["touser"] not in self.known_users:
            return _error(81013, "user & party & tag all invalid")
        if msg.get("enable_duplicate_check") and body in self._seen_bodies:
            # The same request JSON within the interval is acknowledged but not shown again.
            seen_at, answer = self._seen_bodies[body]
            window = timedelta(seconds=int(msg.get("duplicate_check_interval", 1800)))
            if self._now() - seen_at < window:
                return _ok(**answer)
        msgtype = msg.get("msgtype")
        if msgtype not in msg:
            return _error(40008, "invalid message type")
        if msgtype in ("text", "markdown") and not msg[msgtype].get("content"):
            return _error(44004, "empty content")
        answer: dict[str, Any] = {"invaliduser": "", "msgid": f"msg-{next(self._ids)}"}
        if msgtype == "template_card":
            task_id = msg["template_card"].get("task_id")
            if not task_id or task_id in self._task_ids:
                return _error(42014, "taskid has existed or empty or exceed max len")
            self._task_ids.add(task_id)
            answer["response_code"] = code = f"rc-send-{next(self._ids)}"
            self._response_codes.add(code)
        self._seen_bodies[body] = (self._now(), answer)
        self.delivered.append(msg)
        return _ok(**answer)

    async def _update_card(self, request: web.Request, body: bytes) -> web.Response:
        msg = json.loads(body)
        code = msg.get("response_code")
        if code not in self._response_codes:
            return _error(UNKNOWN_RESPONSE_CODE, "invalid response_code")
        self._response_codes.discard(code)  # single use
        self.card_updates.append(msg)
        return _ok(invaliduser=[])

    async def _media_get(self, request: web.Request, body: bytes) -> web.Response:
        media_id = request.query.get("media_id", "")
        if media_id not in self.media:
            # As WeCom does: HTTP 200 with a JSON error body.
            return _error(40007, "invalid media_id")
        data, content_type = self.media[media_id]
        return web.Response(
            body=data,
            content_type=content_type,
            headers={"Content-disposition": f'attachment; filename="{media_id}.amr"'},
        )

    async def _media_upload(self, request: web.Request, body: bytes) -> web.Response:
        kind = request.query.get("type", "")
        data = _media_part(request, body)
        if data is None:
            return _error(40004, "invalid media type")
        self.uploads.append((kind, data))
        return _ok(type=kind, media_id=f"media-{next(self._ids)}", created_at="1772706600")

    async def _appchat_send(self, request: web.Request, body: bytes) -> web.Response:
        msg = json.loads(body)
        if not msg.get("chatid"):
            return _error(86003, "chatid not found")
        self.appchat_messages.append(msg)
        return _ok()

    def _webhook_send(self, request: web.Request, body: bytes) -> web.Response:
        key = request.query.get("key", "")
        if key not in self.robot_keys:
            return _error(93000, "invalid webhook url")
        msg = json.loads(body)
        if msg.get("msgtype") == "image":
            image = msg["image"]
            raw = base64.b64decode(image["base64"])
            if hashlib.md5(raw).hexdigest() != image["md5"]:  # noqa: S324 - WeCom's check
                return _error(40009, "invalid image md5")
        self.robot_messages.append((key, msg))
        return _ok()


def _media_part(request: web.Request, body: bytes) -> bytes | None:
    """The `media` part of a multipart upload (the body was already read for the record)."""
    head = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "media":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"errcode": 0, "errmsg": "ok", **fields})


def _error(errcode: int, errmsg: str) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg})
