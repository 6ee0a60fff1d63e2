"""WeCom and DingTalk token endpoints on localhost, with scripted answers and a settable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

CORP_ID = "ww5a1e5b0t00000001"
AGENT_ID = 1000002
WECOM_SECRET = "wecom-secret-for-doctor-tests"
WECOM_TOKEN = "SalesbotDoctorToken"
WECOM_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
DINGTALK_KEY = "dingdoctortestkey"
DINGTALK_SECRET = "dingtalk-secret-for-doctor-tests"


@dataclass
class FakeTokens:
    """gettoken and agent/get (WeCom), oauth2/accessToken (DingTalk); answers can be scripted."""

    wecom_gettoken: dict[str, Any] | None = None  # None: the real check of corp id and secret
    wecom_agent: dict[str, Any] | None = None  # None: the app's details
    dingtalk_status: int | None = None
    dingtalk_answer: dict[str, Any] | None = None
    clock_skew: timedelta = timedelta(0)  # what the Date header is off by
    calls: list[str] = field(default_factory=list)
    _server: TestServer | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_get("/cgi-bin/agent/get", self._agent_get)
        app.router.add_post("/v1.0/oauth2/accessToken", self._dingtalk_token)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self.base_url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def _json(self, data: dict[str, Any], status: int = 200) -> web.Response:
        now = datetime.now(UTC) + self.clock_skew  # noqa: TID251 - a server's own clock
        return web.json_response(
            data, status=status, headers={"Date": format_datetime(now, usegmt=True)}
        )

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.calls.append("wecom gettoken")
        if self.wecom_gettoken is not None:
            return self._json(self.wecom_gettoken)
        if request.query.get("corpid") != CORP_ID:
            return self._json({"errcode": 40013, "errmsg": "invalid corpid"})
        if request.query.get("corpsecret") != WECOM_SECRET:
            return self._json({"errcode": 40001, "errmsg": "invalid credential"})
        return self._json(
            {"errcode": 0, "errmsg": "ok", "access_token": "tok-1", "expires_in": 7200}
        )

    async def _agent_get(self, request: web.Request) -> web.Response:
        self.calls.append("wecom agent/get")
        if self.wecom_agent is not None:
            return self._json(self.wecom_agent)
        if request.query.get("access_token") != "tok-1":
            return self._json({"errcode": 40014, "errmsg": "invalid access_token"})
        if request.query.get("agentid") != str(AGENT_ID):
            return self._json({"errcode": 40056, "errmsg": "invalid agentid"})
        return self._json({"errcode": 0, "errmsg": "ok", "agentid": AGENT_ID, "name": "销售助手"})

    async def _dingtalk_token(self, request: web.Request) -> web.Response:
        self.calls.append("dingtalk accessToken")
        if self.dingtalk_answer is not None:
            return self._json(self.dingtalk_answer, self.dingtalk_status or 200)
        body = await request.json()
        if (body.get("appKey"), body.get("appSecret")) != (DINGTALK_KEY, DINGTALK_SECRET):
            return self._json(
                {"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"},
                400,
            )
        return self._json({"accessToken": "ding-tok-1", "expireIn": 7200})


def wecom_env(base_url: str) -> dict[str, str]:
    return {
        "SALESBOT_WECOM_CORP_ID": CORP_ID,
        "SALESBOT_WECOM_AGENT_ID": str(AGENT_ID),
        "SALESBOT_WECOM_SECRET": WECOM_SECRET,
        "SALESBOT_WECOM_TOKEN": WECOM_TOKEN,
        "SALESBOT_WECOM_AES_KEY": WECOM_AES_KEY,
        "SALESBOT_WECOM_API_BASE": base_url,
    }


def dingtalk_env(base_url: str) -> dict[str, str]:
    return {
        "SALESBOT_DINGTALK_APP_KEY": DINGTALK_KEY,
        "SALESBOT_DINGTALK_APP_SECRET": DINGTALK_SECRET,
        "SALESBOT_DINGTALK_ROBOT_CODE": DINGTALK_KEY,
        "SALESBOT_DINGTALK_MODE": "stream",
        "SALESBOT_DINGTALK_API_BASE": base_url,
    }
