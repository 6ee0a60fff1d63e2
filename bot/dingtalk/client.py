"""DingTalk HTTP calls on the shared aiohttp session: tokens, robot API, webhooks, media."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from yarl import URL

from bot.adapter import AdapterDeps
from storage.tokens import get_token

TIMEOUT = aiohttp.ClientTimeout(total=10)
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)
# v1.0 APIs answer InvalidAuthentication (400/401); the old oapi host answers errcode 40014 or 88.
AUTH_CODES = {"InvalidAuthentication", "40014", "88"}


class ApiError(Exception):
    """A DingTalk answer that is not success; status 0 means no answer (network, timeout)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @property
    def is_auth(self) -> bool:
        return self.code in AUTH_CODES or self.status == 401

    @property
    def is_rate_limited(self) -> bool:
        return "QpsLimit" in self.code or self.status == 429

    @property
    def is_quota_spent(self) -> bool:  # the org's monthly API allowance: no retry helps this month
        return "ApiCountLimit" in self.code

    @property
    def is_transient(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.is_rate_limited


class DingTalkClient:
    def __init__(self, deps: AdapterDeps) -> None:
        self.settings = deps.settings
        self.http = deps.http
        self.sessions = deps.sessions
        self.clock = deps.clock
        self.api_base = deps.settings.dingtalk_api_base.rstrip("/")
        self.oapi_base = deps.settings.dingtalk_oapi_base.rstrip("/")
        self.app_key = deps.settings.dingtalk_app_key or ""
        self.app_secret = deps.settings.dingtalk_app_secret or ""
        self.robot_code = deps.settings.dingtalk_robot_code or ""

    async def call_api(
        self, path: str, body: dict[str, Any], *, method: str = "POST"
    ) -> dict[str, Any]:
        """POST (or PUT) to api.dingtalk.com with the shared token, renewed once if rejected."""
        token = await self._token()
        try:
            return await self._post(self.api_base + path, body, token=token, method=method)
        except ApiError as err:
            if not err.is_auth:
                raise
        token = await self._token(rejected=token)
        return await self._post(self.api_base + path, body, token=token, method=method)

    async def call_oapi(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to oapi.dingtalk.com with the legacy token (免登 topapi/v2/user/getuserinfo)."""
        token = await self._legacy_token()
        answer = await self._send(
            "POST", self.oapi_base + path, params={"access_token": token}, json=body
        )
        return _check_errcode(answer)

    async def post_webhook(self, url: str | URL, body: dict[str, Any]) -> dict[str, Any]:
        """sessionWebhook / custom robot: always HTTP 200, success is errcode 0."""
        answer = await self._post(url, body)
        return _check_errcode(answer)

    async def upload_image(self, png: bytes) -> str:
        """oapi media/upload → media_id, with the old-style token (the v1.0 one is not enough)."""
        token = await self._legacy_token()
        try:
            return await self._upload(png, token)
        except ApiError as err:
            if not err.is_auth:
                raise
        return await self._upload(png, await self._legacy_token(rejected=token))

    async def download_url(self, download_code: str) -> str:
        answer = await self.call_api(
            "/v1.0/robot/messageFiles/download",
            {"downloadCode": download_code, "robotCode": self.robot_code},
        )
        url = answer.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise ApiError(200, "noDownloadUrl", json.dumps(answer, ensure_ascii=False)[:200])
        return url

    async def fetch(self, url: str, *, max_bytes: int) -> bytes:
        """GET a temporary download URL (no auth); more than max_bytes raises TooLarge."""
        try:
            async with self.http.get(url, timeout=DOWNLOAD_TIMEOUT) as resp:
                if resp.status != 200:
                    raise ApiError(resp.status, "download", (await resp.text())[:200])
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise TooLarge(resp.content_length)
                data = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > max_bytes:
                        raise TooLarge(len(data))
                return bytes(data)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ApiError(0, "network", repr(err)) from err

    async def _token(self, rejected: str | None = None) -> str:
        return await get_token(
            self.sessions,
            f"dingtalk:{self.app_key}",
            self._fetch_token,
            now=self.clock.now,
            force_refresh_of=rejected,
        )

    async def _fetch_token(self) -> tuple[str, int]:
        try:
            answer = await self._post(
                self.api_base + "/v1.0/oauth2/accessToken",
                {"appKey": self.app_key, "appSecret": self.app_secret},
            )
            return str(answer["accessToken"]), int(answer.get("expireIn", 7200))
        except ApiError as err:
            raise TokenError(err.status, err.code, err.message) from err
        except (KeyError, ValueError) as err:
            raise TokenError(200, "noAccessToken", repr(err)) from err

    async def _legacy_token(self, rejected: str | None = None) -> str:
        return await get_token(
            self.sessions,
            f"dingtalk-oapi:{self.app_key}",
            self._fetch_legacy_token,
            now=self.clock.now,
            force_refresh_of=rejected,
        )

    async def _fetch_legacy_token(self) -> tuple[str, int]:
        params = {"appkey": self.app_key, "appsecret": self.app_secret}
        try:
            answer = _check_errcode(
                await self._send("GET", self.oapi_base + "/gettoken", params=params)
            )
            return str(answer["access_token"]), int(answer.get("expires_in", 7200))
        except ApiError as err:
            raise TokenError(err.status, err.code, err.message) from err
        except (KeyError, ValueError) as err:
            raise TokenError(200, "noAccessToken", repr(err)) from err

    async def _upload(self, png: bytes, token: str) -> str:
        form = aiohttp.FormData()
        form.add_field("media", png, filename="chart.png", content_type="image/png")
        answer = await self._send(
            "POST",
            self.oapi_base + "/media/upload",
            params={"access_token": token, "type": "image"},
            data=form,
        )
        return str(_check_errcode(answer)["media_id"])

    async def _post(
        self,
        url: str | URL,
        body: dict[str, Any],
        *,
        token: str | None = None,
        method: str = "POST",
    ) -> dict[str, Any]:
        headers = {"x-acs-dingtalk-access-token": token} if token else {}
        return await self._send(method, url, json=body, headers=headers)

    async def _send(self, method: str, url: str | URL, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.http.request(method, url, timeout=TIMEOUT, **kwargs) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ApiError(0, "network", repr(err)) from err
        try:
            answer = json.loads(text) if text else {}
        except json.JSONDecodeError:
            answer = {"message": text[:200]}
        if not isinstance(answer, dict):
            answer = {"message": str(answer)[:200]}
        if status >= 300:
            raise ApiError(status, str(answer.get("code", status)), str(answer.get("message", "")))
        return answer


class TokenError(ApiError):
    """No token: wrong AppKey/AppSecret or DingTalk down. Worth retrying once config is fixed."""


class TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def _check_errcode(answer: dict[str, Any]) -> dict[str, Any]:
    errcode = answer.get("errcode", 0)
    if errcode not in (0, "0"):
        raise ApiError(200, str(errcode), str(answer.get("errmsg", "")))
    return answer
