"""WeCom server API over the shared aiohttp session, with the access token shared through the DB."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.clock import Clock
from storage.tokens import get_token

# An API answers these when the token is stale (40001 is also "bad secret", but only on gettoken).
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
MEDIA_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=5)
JSON_ERROR_MAX_BYTES = 64 * 1024
TOKEN_MEMO = timedelta(minutes=1)


class WeComError(Exception):
    """WeCom answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class WeComUnavailable(Exception):
    """No usable answer: a network error, a 5xx, or a body that is not WeCom's JSON."""


class MediaTooLarge(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"media larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class WeComClient:
    """One self-built app's API: message/send, update_template_card, media, appchat, robots."""

    def __init__(
        self,
        *,
        http: aiohttp.ClientSession,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        api_base: str,
        corp_id: str,
        agent_id: int,
        secret: str,
    ) -> None:
        self._http = http
        self._sessions = sessions
        self._clock = clock
        self._base = api_base.rstrip("/") + "/cgi-bin/"
        self._corp_id, self._secret = corp_id, secret
        self.agent_id = agent_id
        self.token_key = f"wecom:{corp_id}:{agent_id}"
        self._memo: tuple[str, datetime] | None = None

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST an API with the shared token; a stale token is refreshed once and retried once."""
        return await self._with_token(
            lambda token: self._post(path, body, params={"access_token": token})
        )

    async def get_with_token(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """A GET with the shared token (auth/getuserinfo for 网页授权); errcode checked."""
        return await self._with_token(
            lambda token: self._request("GET", path, params={**params, "access_token": token})
        )

    async def send_to_robot(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """A group robot webhook: the key is the credential, no access token."""
        return _checked(await self._post("webhook/send", body, params={"key": key}))

    async def upload_media(self, kind: str, filename: str, data: bytes, mime: str) -> str:
        """media/upload → a media_id valid for 3 days (images for app and appchat messages)."""

        async def upload(token: str) -> dict[str, Any]:
            form = aiohttp.FormData()  # a form is consumed by one request: build one per try
            form.add_field("media", data, filename=filename, content_type=mime)
            params = {"access_token": token, "type": kind}
            return await self._request("POST", "media/upload", params=params, data=form)

        return str((await self._with_token(upload))["media_id"])

    async def download_media(self, media_id: str, *, max_bytes: int) -> bytes:
        """media/get: the bytes, or WeComError when WeCom answers 200 with a JSON error body."""
        token = await self._token()
        try:
            return await self._download(media_id, token, max_bytes)
        except WeComError as err:
            if err.errcode not in TOKEN_ERRORS:
                raise
        token = await self._token(rejected=token)
        return await self._download(media_id, token, max_bytes)

    async def _download(self, media_id: str, token: str, max_bytes: int) -> bytes:
        url = self._base + "media/get"
        params = {"access_token": token, "media_id": media_id}
        try:
            async with self._http.get(url, params=params, timeout=MEDIA_TIMEOUT) as resp:
                # Errors come back as HTTP 200 + JSON: branch on the content type, not the status.
                if resp.content_type in ("application/json", "text/plain"):
                    _checked(_decode(await _read_at_most(resp, JSON_ERROR_MAX_BYTES)))
                    raise WeComUnavailable("media/get answered JSON without an error")
                if resp.status != 200:
                    raise WeComUnavailable(f"media/get answered HTTP {resp.status}")
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise MediaTooLarge(max_bytes)
                return await _read_at_most(resp, max_bytes)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise WeComUnavailable(f"media/get failed: {err!r}") from err

    async def _with_token(self, send: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        token = await self._token()
        answer = await send(token)
        if answer.get("errcode") in TOKEN_ERRORS:
            answer = await send(await self._token(rejected=token))
        return _checked(answer)

    async def _token(self, *, rejected: str | None = None) -> str:
        """The shared token; held in memory for a minute so a busy sender spares the database."""
        now = self._clock.now()
        if rejected is None and self._memo is not None and self._memo[1] > now:
            return self._memo[0]
        token = await get_token(
            self._sessions,
            self.token_key,
            self._fetch_token,
            now=self._clock.now,
            force_refresh_of=rejected,
        )
        # get_token hands out tokens with at least 5 minutes left: one minute in memory is safe.
        self._memo = (token, now + TOKEN_MEMO)
        return token

    async def _fetch_token(self) -> tuple[str, int]:
        params = {"corpid": self._corp_id, "corpsecret": self._secret}
        answer = _checked(await self._request("GET", "gettoken", params=params))
        return str(answer["access_token"]), int(answer.get("expires_in", 7200))

    async def _post(
        self, path: str, body: dict[str, Any], *, params: dict[str, str]
    ) -> dict[str, Any]:
        # Deterministic UTF-8 JSON: with enable_duplicate_check a retried row is byte-identical.
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return await self._request("POST", path, params=params, data=data, headers=headers)

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._http.request(
                method, self._base + path, timeout=TIMEOUT, **kwargs
            ) as resp:
                if resp.status >= 500:
                    raise WeComUnavailable(f"{path} answered HTTP {resp.status}")
                return _decode(await _read_at_most(resp, JSON_ERROR_MAX_BYTES))
        except MediaTooLarge as err:
            raise WeComUnavailable(f"{path} answered an oversize body") from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise WeComUnavailable(f"{path} failed: {err!r}") from err


async def _read_at_most(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise MediaTooLarge(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except ValueError as err:
        raise WeComUnavailable(f"not JSON: {raw[:100]!r}") from err
    if not isinstance(answer, dict):
        raise WeComUnavailable(f"not a WeCom answer: {raw[:100]!r}")
    return answer


def _checked(answer: dict[str, Any]) -> dict[str, Any]:
    errcode = int(answer.get("errcode", 0))
    if errcode != 0:
        raise WeComError(errcode, str(answer.get("errmsg", "")))
    return answer
