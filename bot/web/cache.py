"""Stale-while-revalidate for the board's slow-moving figures, per process and bounded.

The 作战室's 90-day funnel figures (conversion, median days, amounts) cost a scan of the stage
history and the follow-ups; they change slowly, so each scope's are recomputed at most once a
TTL, in the background, while the page shows the last ones. Counts and lights stay live.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger()

T = TypeVar("T")


class StaleWhileRevalidate(Generic[T]):
    def __init__(self, *, ttl_s: float = 60.0, max_entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}

    async def get(
        self,
        key: Hashable,
        compute: Callable[[], Awaitable[T]],
        refresh: Callable[[], Awaitable[T]] | None = None,
    ) -> T:
        """The cached value, refreshed in the background (by `refresh`) once past the TTL."""
        entry = self._entries.get(key)
        if entry is None:
            value = await compute()
            self._store(key, value)
            return value
        computed_at, value = entry
        self._entries.move_to_end(key)
        if time.monotonic() - computed_at > self.ttl_s and key not in self._refreshing:
            task = asyncio.create_task(
                self._refresh(key, refresh or compute), name=f"board-refresh-{key}"
            )
            self._refreshing[key] = task
        return value

    async def _refresh(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> None:
        try:
            self._store(key, await compute())
        except Exception:  # the old figures stay; the next request tries again
            log.exception("board_refresh_failed")
        finally:
            self._refreshing.pop(key, None)

    def _store(self, key: Hashable, value: T) -> None:
        self._entries[key] = (time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def close_pending(self) -> None:
        """Wait for the refreshes under way (tests, shutdown)."""
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._refreshing.values()):
            task.cancel()
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)
