"""Outbox sender: delivers leased rows through their adapter, with backoff and a dead state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import Adapter, Dead, Delivery, RetryAt, Sent
from bot.metrics import DELIVERIES, OUTBOX_DEPTH
from handlers.chat import Platform
from handlers.clock import Clock
from storage import outbox
from storage.queue_models import OutboxItem

log = structlog.get_logger()


class OutboxSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Mapping[Platform, Adapter],
        clock: Clock,
        *,
        max_attempts: int,
        lease: timedelta = outbox.LEASE,
        batch: int = 20,
    ) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.clock = clock
        self.max_attempts = max_attempts
        self.batch = batch
        self.lease = lease

    async def step(self) -> bool:
        if not self.adapters:
            return False
        async with self.sessions() as db, db.begin():
            rows = await outbox.take_due(
                db,
                now=self.clock.now(),
                platforms=[str(p) for p in self.adapters],
                limit=self.batch,
                lease=self.lease,
            )
        for row in rows:
            await self.send(row)
        return bool(rows)

    async def send_due(self) -> int:
        """Deliver everything due now (tests and `salesbot outbox` use this)."""
        sent = 0
        while await self.step():
            sent += 1
        return sent

    async def send(self, row: OutboxItem) -> None:
        adapter = self.adapters[Platform(row.platform)]
        try:
            delivery: Delivery = await adapter.deliver(row)
        except Exception as err:  # a bug or an unexpected transport error: retry with backoff
            log.exception("outbox_deliver_crashed", outbox_id=row.id)
            delivery = RetryAt(self.clock.now() + self._backoff(row.attempts), repr(err))
        now = self.clock.now()
        async with self.sessions() as db, db.begin():
            match delivery:
                case Sent(result=result):
                    await outbox.mark_sent(db, row.id, now=now, result=result)
                    outcome = "sent"
                case RetryAt(at=at, error=error, count_attempt=counted) if (
                    not counted or row.attempts < self.max_attempts
                ):
                    await outbox.postpone(
                        db, row.id, until=max(at, now), error=error, count_attempt=counted
                    )
                    outcome = "retry" if counted else "rate_limited"
                case RetryAt(error=error) | Dead(error=error):
                    await outbox.mark_dead(db, row.id, error=error)
                    log.warning("outbox_dead", outbox_id=row.id, error=error)
                    outcome = "dead"
        DELIVERIES.labels(platform=row.platform, channel=row.channel, outcome=outcome).inc()

    @staticmethod
    def _backoff(attempts: int) -> timedelta:
        return timedelta(seconds=min(3600, 5 * 3 ** max(0, attempts - 1)))

    async def refresh_metrics(self) -> None:
        async with self.sessions() as db:
            depth = await outbox.depth(db)
        for status in ("new", "taken", "done", "dead"):
            OUTBOX_DEPTH.labels(status=status).set(depth.get(status, 0))
