"""One instance holds the 智能机器人 connection: a session-level PostgreSQL advisory lock.

WeCom keeps one long connection per bot: a newer one replaces the older with a
`disconnected_event` (aibot-node-sdk src/ws.ts), so two instances would keep kicking each other
off. The holder keeps the lock on a connection of its own (AUTOCOMMIT, so no transaction stays
open); when the process dies PostgreSQL drops that connection and the lock with it, and a standby
instance, trying every `poll_s`, takes over. On SQLite (one instance) the lock is always ours.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.locks import lock_id

log = structlog.get_logger()

LOCK_NAME = "wecom-bot-connection"
CHECK_TIMEOUT_S = 15.0  # a slow answer under load is not a lost lock; a dead server is


class ConnectionLock:
    def __init__(self, engine: AsyncEngine, *, key: str, poll_s: float = 5.0) -> None:
        self.engine = engine
        self.id = lock_id(f"{LOCK_NAME}:{key}")
        self.poll_s = poll_s
        self.held = False
        self._conn: AsyncConnection | None = None

    @property
    def shared(self) -> bool:
        """Only PostgreSQL has other instances to share with."""
        return self.engine.dialect.name == "postgresql"

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until the lock is ours (True), or `stop` is set (False)."""
        if not self.shared:
            self.held = True
            return True
        while not stop.is_set():
            try:
                if await self._try():
                    self.held = True
                    log.info("wecom_bot_lock_taken")
                    return True
            except Exception:
                log.warning("wecom_bot_lock_error", exc_info=True)
                await self.release()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_s)
        return False

    async def _try(self) -> bool:
        if self._conn is None:
            conn = await self.engine.connect()
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        result = await self._conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": self.id})
        return bool(result.scalar_one())

    async def still_held(self) -> bool:
        """The lock's connection still answers (else PostgreSQL may have let the lock go)."""
        if not self.shared:
            return True
        if self._conn is None:
            return False
        try:
            await asyncio.wait_for(self._conn.execute(text("SELECT 1")), CHECK_TIMEOUT_S)
            return True
        except Exception:
            log.warning("wecom_bot_lock_lost", exc_info=True)
            return False

    async def release(self) -> None:
        self.held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                # Not back to the pool, where the session (and its lock) would live on.
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()
