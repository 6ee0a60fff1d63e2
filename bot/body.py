"""Reading a callback body within a size and a time limit of our own, whatever the proxy does."""

from __future__ import annotations

import asyncio

from aiohttp import web


class BodyRefused(Exception):
    """The body was too large (413) or too slow (408); `reason` is the metrics label."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def read_body(request: web.Request, *, max_bytes: int, timeout_s: float) -> bytes:
    """The request body, refused past max_bytes without reading the rest, or past timeout_s:
    a client trickling a byte a second must not hold a connection and its memory for ever."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyRefused(413, "too_large")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > max_bytes:
                    raise BodyRefused(413, "too_large")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyRefused(408, "body_timeout") from None
    return b"".join(chunks)
