"""Inbox worker: a stored platform event → Event → handlers → outbox rows, in one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import Adapter
from bot.metrics import INBOX_DEAD, INBOX_DEAD_TOTAL, INBOX_LAG, INBOX_PENDING
from bot.outbox_writer import OutboxWriter
from handlers.chat import Event, EventKind, Outgoing, Platform, Reply
from handlers.context import Context
from handlers.router import dispatch
from storage import inbox
from storage.queue_models import InboxItem

log = structlog.get_logger()

# (event, session) → what to answer; voice events go to the voice intake instead of the router
VoiceIntake = Callable[[Event, AsyncSession], Awaitable[list[Outgoing]]]
# Senders handled at once. Measured by bench/inbox.py: 50 senders drain at 165 msgs/s against 133
# one after the other; the worker is CPU-bound past a few lanes, and each lane holds a connection.
LANES = 4
APOLOGY = "抱歉，处理你的消息时出错了，已通知管理员（参考编号 {ref}）。请稍后再试。"


class InboxWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Mapping[Platform, Adapter],
        ctx: Context,
        outbox_writer: OutboxWriter,
        *,
        voice_intake: VoiceIntake,
        max_attempts: int,
        lease: timedelta = inbox.LEASE,
        batch: int = 10,
        name: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.ctx = ctx
        self.outbox_writer = outbox_writer
        self.voice_intake = voice_intake
        self.max_attempts = max_attempts
        self.batch = batch
        self.lease = lease
        # Stable across restarts (the instance's name), so a restart can take back its own rows.
        self.name = name or f"{socket.gethostname()}:{id(self):x}"
        self._lanes = asyncio.Semaphore(LANES)

    async def step(self) -> bool:
        now = self.ctx.clock.now()
        async with self.sessions() as db, db.begin():
            items = await inbox.take_batch(
                db,
                now=now,
                worker=self.name,
                limit=self.batch,
                lease=self.lease,
                platforms=[str(p) for p in self.adapters],
            )
        if not items:
            return False
        heartbeat = asyncio.create_task(self._heartbeat([i.id for i in items]), name="inbox-lease")
        try:
            await self._work(items)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return True

    async def reclaim_own(self) -> int:
        """At start-up: what this instance held when it died is taken again at once."""
        async with self.sessions() as db, db.begin():
            released = await inbox.release_own(db, worker=self.name, now=self.ctx.clock.now())
        if released:
            log.info("inbox_leases_reclaimed", worker=self.name, rows=released)
        return released

    async def _heartbeat(self, item_ids: list[int]) -> None:
        """Renew the batch's lease while it is worked on, so the lease itself can be short."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.sessions() as db, db.begin():
                    until = self.ctx.clock.now() + self.lease
                    await inbox.extend_leases(db, item_ids, worker=self.name, until=until)
            except Exception as err:  # the work goes on; at worst the lease runs out
                log.warning("inbox_heartbeat_failed", error=type(err).__name__)

    async def _work(self, items: list[InboxItem]) -> None:
        lanes: dict[tuple[str, str], list[tuple[InboxItem, Event]]] = {}
        voice: list[tuple[InboxItem, Event]] = []
        for item in items:
            event = await self._read(item)
            if event is not None and event.kind == EventKind.VOICE:
                voice.append((item, event))
            elif event is not None:
                lanes.setdefault((str(event.platform), event.sender), []).append((item, event))
        # Typed messages first, a burst of voice notes must not hold them up. Each sender's in
        # the order sent; different senders at once, so one slow answer does not hold the rest.
        results = await asyncio.gather(
            *(self._in_order(lane) for lane in lanes.values()), return_exceptions=True
        )
        for result in results:  # only when even recording a failure failed (database down)
            if isinstance(result, BaseException):
                raise result
        if voice:
            await self._voice_batch(voice)

    async def _in_order(self, lane: list[tuple[InboxItem, Event]]) -> None:
        async with self._lanes:  # a few at once: each holds a pooled connection
            for item, event in lane:
                await self._handle(item, event)

    async def handle(self, item: InboxItem) -> None:
        event = await self._read(item)
        if event is not None:
            await self._handle(item, event)

    async def _read(self, item: InboxItem) -> Event | None:
        """The item's Event; an unreadable payload is dead at once (None)."""
        adapter = self.adapters[Platform(item.platform)]
        try:
            return adapter.to_event(item.payload, received_at=item.received_at)
        except ValueError as err:
            log.warning("inbox_unreadable", inbox_id=item.id, error=str(err))
            async with self.sessions() as db, db.begin():
                await inbox.mark_failed(
                    db,
                    item.id,
                    error=f"unreadable: {err}",
                    dead=True,
                    retry_at=self.ctx.clock.now(),
                )
            return None

    async def _handle(self, item: InboxItem, event: Event) -> None:
        structlog.contextvars.bind_contextvars(inbox_id=item.id, platform=item.platform)
        try:
            async with self.sessions() as db, db.begin():
                await self._process(db, item, event)
        except Exception as err:
            log.exception("inbox_item_failed", attempts=item.attempts)
            await self._failed(item, event, err)
        finally:
            structlog.contextvars.unbind_contextvars("inbox_id", "message_id", "user_id")

    async def _process(self, db: AsyncSession, item: InboxItem, event: Event) -> None:
        if event.kind == EventKind.VOICE:
            outgoing = await self.voice_intake(event, db)
        else:
            outgoing = await dispatch(event, db, self.ctx)
        now = self.ctx.clock.now()
        await self.outbox_writer.enqueue(
            db, outgoing, now=now, event=event, source=f"inbox:{item.id}"
        )
        await inbox.mark_done(db, item.id, now=now)

    async def _voice_batch(self, batch: list[tuple[InboxItem, Event]]) -> None:
        """Voice events only queue a job: one transaction for the lot, one by one if it fails."""
        if len(batch) > 1:
            try:
                async with self.sessions() as db, db.begin():
                    for item, event in batch:
                        await self._process(db, item, event)
                return
            except Exception:
                log.warning("inbox_voice_batch_failed", size=len(batch), exc_info=True)
        for item, event in batch:
            await self._handle(item, event)

    async def _failed(self, item: InboxItem, event: Event, err: Exception) -> None:
        dead = item.attempts >= self.max_attempts
        now = self.ctx.clock.now()
        retry_at = now + timedelta(seconds=min(300, 5 * 2**item.attempts))
        # Its own transaction, with nothing from the message in it but a cleaned error text:
        # whatever made the message fail cannot make marking it fail too.
        async with self.sessions() as db, db.begin():
            await inbox.mark_failed(db, item.id, error=repr(err), dead=dead, retry_at=retry_at)
        if not dead:
            return
        INBOX_DEAD_TOTAL.labels(platform=item.platform).inc()
        log.error("inbox_dead", attempts=item.attempts, error=type(err).__name__)
        # The user hears a short apology with a reference, never a stack trace. It can fail for
        # the same reason the message did (its address): then it is logged, and that is all.
        try:
            async with self.sessions() as db, db.begin():
                apology = Reply(APOLOGY.format(ref=f"IN-{item.id}"))
                await self.outbox_writer.enqueue(
                    db, [apology], now=now, event=event, source=f"inbox:{item.id}:dead"
                )
        except Exception as apology_err:
            log.error("inbox_apology_failed", error=repr(apology_err)[:300])

    async def refresh_metrics(self) -> None:
        async with self.sessions() as db:
            INBOX_PENDING.set(await inbox.pending_count(db))
            INBOX_DEAD.set(await inbox.dead_count(db))
            oldest = await inbox.oldest_pending_at(db)
        INBOX_LAG.set((self.ctx.clock.now() - oldest).total_seconds() if oldest else 0.0)
