"""Long-lived workers: each step runs until told to stop; one bad item never kills the loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger()

IDLE_POLL_S = 0.5


async def supervise(
    name: str,
    step: Callable[[], Awaitable[bool]],
    stop: asyncio.Event,
    wake: asyncio.Event | None = None,
    idle_s: float = IDLE_POLL_S,
) -> None:
    while not stop.is_set():
        try:
            busy = await step()  # True: it did work, go again at once
        except Exception:
            log.exception("worker_step_failed", worker=name)
            busy = False
        if busy:
            await asyncio.sleep(0)  # let the callbacks in between busy steps
            continue
        waiters = [asyncio.ensure_future(stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waiters, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if wake is not None:
            wake.clear()
