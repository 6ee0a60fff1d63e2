"""A fake DingTalk API on localhost: real paths and JSON, expiring tokens and sessions, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

AMR_BYTES = b"#!AMR\n" + bytes(range(256)) * 4  # an AMR-NB magic header and some frames
JSON = {"Content-Type": "application/json"}
SESSION_LIFETIME_MS = 5_400_000  # sessionWebhookExpiredTime - createAt in every official sample


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]  # parsed like a real server: "+" is a space, %2B is "+"
    token: str | None  # the x-acs-dingtalk-access-token header
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class FakeDingTalk:
    """api.dingtalk.com and oapi.dingtalk.com as salesbot uses them, on one local server."""

    def __init__(
        self, *, app_key: str, app_secret: str, robot_code: str, now_ms: Callable[[], int]
    ) -> None:
        self.app_key, self.app_secret, self.robot_code = app_key, app_secret, robot_code
        self.now_ms = now_ms  # the test's clock: session expiry, custom robot windows, signs
        self.requests: list[Recorded] = []
        self.one_to_one: list[dict[str, Any]] = []  # batchSend bodies, msgParam decoded
        self.group_messages: list[dict[str, Any]] = []  # groupMessages/send, msgParam decoded
        self.session_messages: list[tuple[str, dict[str, Any]]] = []  # (session, body)
        self.robot_messages: list[tuple[str, dict[str, Any]]] = []  # (access_token, body)
        self.uploads: list[bytes] = []
        self.cards: dict[str, dict[str, Any]] = {}  # outTrackId → createAndDeliver body, updated
        self.card_updates: list[dict[str, Any]] = []
        self.card_callbacks: list[dict[str, Any]] = []  # callbacks/register bodies
        self.files: dict[str, bytes] = {}
        self.custom_robots: dict[str, str | None] = {}  # access_token → secret (None: no sign)
        self.flow_controlled: set[str] = set()
        self.token_fetches = 0
        self.legacy_token_fetches = 0
        self._sessions: dict[str, int] = {}  # session → expiry ms
        self._valid_tokens: set[str] = set()
        self._robot_sends: dict[str, list[int]] = defaultdict(list)
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self._server: TestServer | None = None
        self._stream_gateway: str | None = None
        self.auth_codes: dict[str, str] = {}  # 免登 code → userid, each usable once

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_get("/gettoken", self._gettoken)
        app.router.add_post("/topapi/v2/user/getuserinfo", self._getuserinfo)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._file_download)
        app.router.add_get("/files/{code}", self._file_bytes)
        app.router.add_post("/robot/sendBySession", self._send_by_session)
        app.router.add_post("/robot/send", self._custom_robot_send)
        app.router.add_post("/media/upload", self._media_upload)
        app.router.add_post("/v1.0/gateway/connections/open", self._open_stream)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._card_deliver)
        app.router.add_put("/v1.0/card/instances", self._card_update)
        app.router.add_post("/v1.0/card/callbacks/register", self._card_register)
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
        """Every token issued so far is now refused with InvalidAuthentication / 40014."""
        self._valid_tokens.clear()

    def fail_next(self, path: str, status: int, body: dict[str, Any], *, times: int = 1) -> None:
        """The next `times` calls of `path` answer this (after the request is recorded)."""
        self._failures[path].extend([(status, body)] * times)

    def route_stream_to(self, gateway_url: str) -> None:
        """Send Stream connection opens on to a FakeStreamGateway (both are api.dingtalk.com)."""
        self._stream_gateway = gateway_url

    def add_file(self, download_code: str, data: bytes = AMR_BYTES) -> None:
        self.files[download_code] = data

    def add_custom_robot(self, access_token: str, secret: str | None) -> None:
        self.custom_robots[access_token] = secret

    def new_session_webhook(self, *, lifetime_ms: int = SESSION_LIFETIME_MS) -> tuple[str, int]:
        """(sessionWebhook URL, sessionWebhookExpiredTime) as a robot message carries them."""
        session = f"sess-{next(self._ids)}"
        expires_ms = self.now_ms() + lifetime_ms
        self._sessions[session] = expires_ms
        return f"{self.base_url}/robot/sendBySession?session={session}", expires_ms

    # --- reading what was sent -----------------------------------------------------------------
    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # --- the API -------------------------------------------------------------------------------
    async def _record(self, request: web.Request) -> tuple[bytes, web.Response | None]:
        body = await request.read()
        query = parse_qs(request.query_string, keep_blank_values=True)
        token = request.headers.get("x-acs-dingtalk-access-token")
        self.requests.append(Recorded(request.method, request.path, query, token, body))
        if self._failures[request.path]:
            status, answer = self._failures[request.path].popleft()
            return body, web.json_response(answer, status=status)
        return body, None

    def _token_problem(self, token: str | None) -> web.Response | None:
        if token not in self._valid_tokens:
            return _api_error(400, "InvalidAuthentication", "不合法的access_token")
        return None

    async def _access_token(self, request: web.Request) -> web.Response:
        body, scripted = await self._record(request)
        if scripted:
            return scripted
        self.token_fetches += 1
        asked = json.loads(body or b"{}")
        if asked.get("appKey") != self.app_key or asked.get("appSecret") != self.app_secret:
            return _api_error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = f"tok-{next(self._ids)}"
        self._valid_tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": 7200})

    async def _getuserinfo(self, request: web.Request) -> web.Response:
        body, scripted = await self._record(request)
        if scripted:
            return scripted
        if request.query.get("access_token") not in self._valid_tokens:
            return _oapi(40014, "不合法的access_token")
        userid = self.auth_codes.pop(json.loads(body or b"{}").get("code", ""), None)
        if userid is None:
            return _oapi(40078, "不存在的临时授权码")
        return _oapi(0, "ok", result={"userid": userid, "name": "", "sys": False})

    async def _gettoken(self, request: web.Request) -> web.Response:
        _, scripted = await self._record(request)
        if scripted:
            return scripted
        self.legacy_token_fetches += 1
        if (request.query.get("appkey"), request.query.get("appsecret")) != (
            self.app_key,
            self.app_secret,
        ):
            return _oapi(40089, "不合法的corpid或corpsecret")
        token = f"legacy-{next(self._ids)}"
        self._valid_tokens.add(token)
        return _oapi(0, "ok", access_token=token, expires_in=7200)

    async def _robot_call(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        body, scripted = await self._record(request)
        if scripted:
            return {}, scripted
        problem = self._token_problem(request.headers.get("x-acs-dingtalk-access-token"))
        if problem:
            return {}, problem
        msg = json.loads(body)
        if msg.get("robotCode") != self.robot_code:
            return {}, _api_error(400, "invalidParameter.robotCode.auth", "robotCode 无权限")
        if not isinstance(msg.get("msgParam"), str):
            return {}, _api_error(400, "invalidParameter.msgParam.invalid", "msgParam 必须是 JSON")
        msg["msgParam"] = json.loads(msg["msgParam"])
        return msg, None

    async def _batch_send(self, request: web.Request) -> web.Response:
        msg, problem = await self._robot_call(request)
        if problem:
            return problem
        if len(msg.get("userIds", [])) > 20:
            return _api_error(400, "invalidParameter.userIds.overMax", "userIds 超过 20 个")
        throttled = [u for u in msg["userIds"] if u in self.flow_controlled]
        if not throttled:
            self.one_to_one.append(msg)
        return web.json_response(
            {
                "processQueryKey": f"q-{next(self._ids)}",
                "invalidStaffIdList": [],
                "flowControlledStaffIdList": throttled,
            }
        )

    async def _group_send(self, request: web.Request) -> web.Response:
        msg, problem = await self._robot_call(request)
        if problem:
            return problem
        if not msg.get("openConversationId"):
            return _api_error(400, "invalidParameter.openConversationId", "群不存在")
        self.group_messages.append(msg)
        return web.json_response({"processQueryKey": f"q-{next(self._ids)}"})

    async def _file_download(self, request: web.Request) -> web.Response:
        body, scripted = await self._record(request)
        if scripted:
            return scripted
        problem = self._token_problem(request.headers.get("x-acs-dingtalk-access-token"))
        if problem:
            return problem
        asked = json.loads(body)
        if asked.get("robotCode") != self.robot_code:
            return _api_error(400, "invalidParameter.robotCode.auth", "robotCode 无权限")
        if asked.get("downloadCode") not in self.files:
            return _api_error(400, "invalidParameter.downloadCode", "downloadCode 无效")
        return web.json_response({"downloadUrl": f"{self.base_url}/files/{asked['downloadCode']}"})

    async def _file_bytes(self, request: web.Request) -> web.Response:
        _, scripted = await self._record(request)
        if scripted:
            return scripted
        code = request.match_info["code"]
        if code not in self.files:
            return web.Response(status=404, text="NoSuchKey")
        return web.Response(body=self.files[code], content_type="application/octet-stream")

    async def _send_by_session(self, request: web.Request) -> web.Response:
        body, scripted = await self._record(request)
        if scripted:
            return scripted
        session = request.query.get("session", "")
        if self._sessions.get(session, 0) <= self.now_ms():
            return _oapi(300001, "session 不存在")
        self.session_messages.append((session, json.loads(body)))
        return _oapi(0, "ok")

    async def _custom_robot_send(self, request: web.Request) -> web.Response:
        body, scripted = await self._record(request)
        if scripted:
            return scripted
        query = parse_qs(request.query_string)
        token = query.get("access_token", [""])[0]
        if token not in self.custom_robots:
            return _oapi(300001, "token is not exist")
        secret = self.custom_robots[token]
        if secret is not None:
            timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            if not timestamp.isdigit() or abs(self.now_ms() - int(timestamp)) > 3_600_000:
                return _oapi(310000, "invalid timestamp")
            if not hmac.compare_digest(sign, robot_sign(timestamp, secret)):
                return _oapi(310000, "sign not match")
        sent = [t for t in self._robot_sends[token] if t > self.now_ms() - 60_000]
        if len(sent) >= 20:
            return _oapi(130101, "send too fast, exceed 20 times per minute")
        self._robot_sends[token] = [*sent, self.now_ms()]
        self.robot_messages.append((token, json.loads(body)))
        return _oapi(0, "ok")

    async def _media_upload(self, request: web.Request) -> web.Response:
        body, scripted = await self._record(request)
        if scripted:
            return scripted
        if request.query.get("access_token") not in self._valid_tokens:
            return _oapi(40014, "不合法的access_token")
        data = _media_part(request, body)
        if data is None or request.query.get("type") != "image":
            return _oapi(40004, "不合法的媒体文件类型")
        self.uploads.append(data)
        return _oapi(0, "ok", type="image", media_id=f"@lADPfake{next(self._ids)}")

    async def _card_call(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        body, scripted = await self._record(request)
        if scripted:
            return {}, scripted
        problem = self._token_problem(request.headers.get("x-acs-dingtalk-access-token"))
        if problem:
            return {}, problem
        return json.loads(body), None

    async def _card_deliver(self, request: web.Request) -> web.Response:
        card, problem = await self._card_call(request)
        if problem:
            return problem
        params = (card.get("cardData") or {}).get("cardParamMap") or {}
        if not card.get("cardTemplateId") or not card.get("outTrackId"):
            return _api_error(400, "invalidParameter", "cardTemplateId/outTrackId 必填")
        if not all(isinstance(v, str) for v in params.values()):
            return _api_error(400, "invalidParameter.cardParamMap", "cardParamMap 的值必须是字符串")
        if card["outTrackId"] in self.cards:
            return _api_error(400, "invalidParameter.outTrackId.duplicate", "outTrackId 重复")
        self.cards[card["outTrackId"]] = card
        space = str(card.get("openSpaceId", ""))
        return web.json_response(
            {"success": True, "result": {"outTrackId": card["outTrackId"], "deliverResults": [
                {"spaceType": space.split("//")[-1].split(".")[0], "success": True}]}}
        )  # fmt: skip

    async def _card_update(self, request: web.Request) -> web.Response:
        update, problem = await self._card_call(request)
        if problem:
            return problem
        card = self.cards.get(str(update.get("outTrackId")))
        if card is None:
            return _api_error(400, "invalidParameter.outTrackId.notExist", "卡片不存在")
        card["cardData"]["cardParamMap"] |= (update.get("cardData") or {}).get("cardParamMap") or {}
        self.card_updates.append(update)
        return web.json_response({"success": True, "result": True})

    async def _card_register(self, request: web.Request) -> web.Response:
        body, problem = await self._card_call(request)
        if problem:
            return problem
        self.card_callbacks.append(body)
        return web.json_response({"success": True, "result": {"callbackUrl": body["callbackUrl"]}})

    async def _open_stream(self, request: web.Request) -> web.Response:
        body, scripted = await self._record(request)
        if scripted:
            return scripted
        if self._stream_gateway is None:
            return _api_error(404, "NotFound", "route_stream_to() a FakeStreamGateway first")
        url = self._stream_gateway + request.path
        async with ClientSession() as http, http.post(url, data=body, headers=JSON) as resp:
            return web.json_response(await resp.json(), status=resp.status)


def card_click(out_track_id: str, user_id: str, key: str) -> dict[str, Any]:
    """A card callback's data as DingTalk sends it (Stream frame data or HTTP body)."""
    content = {"cardPrivateData": {"actionIds": ["btn"], "params": {"key": key}}}
    return {
        "outTrackId": out_track_id,
        "userId": user_id,
        "userIdType": 1,
        "corpId": "dingcorp",
        "type": "actionCallback",
        "content": json.dumps(content, ensure_ascii=False),
        "extension": "{}",
    }


def robot_sign(timestamp: str, secret: str) -> str:
    """The custom robot's sign, before URL encoding (what DingTalk compares)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(secret: str, timestamp_ms: int) -> dict[str, str]:
    """The headers DingTalk puts on an HTTP-mode callback."""
    timestamp = str(timestamp_ms)
    return {"timestamp": timestamp, "sign": robot_sign(timestamp, secret)}


def robot_message(
    msgtype: str = "text",
    *,
    msg_id: str = "msgMTIzNDU2Nzg5",
    text: str | None = None,
    content: dict[str, Any] | None = None,
    sender: str = "wanglei",
    group: bool = False,
    conversation_id: str = "cidWangLeiPrivate==",
    session_webhook: tuple[str, int] | None = None,
    create_at_ms: int = 1772706600000,
) -> dict[str, Any]:
    """A robot message with every field DingTalk sends (developerpedia samples, §1.2)."""
    webhook, expires_ms = session_webhook or (
        "https://oapi.dingtalk.com/robot/sendBySession?session=expired",
        create_at_ms + SESSION_LIFETIME_MS,
    )
    message: dict[str, Any] = {
        "conversationId": "cidSalesTeam9ok==" if group else conversation_id,
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}] if group else [],
        "chatbotCorpId": "dingcorp",
        "chatbotUserId": "$:LWCP_v1:$robot",
        "msgId": msg_id,
        "senderNick": "王磊",
        "isAdmin": False,
        "senderStaffId": sender,
        "sessionWebhookExpiredTime": expires_ms,
        "createAt": create_at_ms,
        "senderCorpId": "dingcorp",
        "conversationType": "2" if group else "1",
        "senderId": f"$:LWCP_v1:${sender}",
        "sessionWebhook": webhook,
        "robotCode": "dingrobot",
        "msgtype": msgtype,
        "senderPlatform": "Android",
    }
    if group:
        message["conversationTitle"] = "华东销售一组"
        message["isInAtList"] = True
    if msgtype == "text":
        message["text"] = {"content": text or ""}
    if content is not None:
        message["content"] = content
    return message


def _media_part(request: web.Request, body: bytes) -> bytes | None:
    head = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "media":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def _api_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "requestid": "FAKE-REQ"}, status=status
    )


def _oapi(errcode: int, errmsg: str, **fields: Any) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg, **fields})
