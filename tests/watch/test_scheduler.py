"""The scheduler facade: the three jobs on their triggers, a catch-up run at start, a clean stop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.scheduler import JobScheduler
from handlers.chat import Outgoing
from handlers.clock import FrozenClock
from handlers.context import Context
from tests.watch.conftest import World, local

DEADLINE_S = 20.0


@dataclass
class RecordingOutboxWriter:
    """Has the OutboxWriter's enqueue signature; remembers the pushes and their source."""

    queued: list[tuple[str | None, Outgoing]] = field(default_factory=list)

    async def enqueue(
        self,
        db: AsyncSession,
        items: list[Outgoing],
        *,
        now: datetime,
        source: str | None = None,
        **_: Any,
    ) -> None:
        self.queued += [(source, item) for item in items]


@dataclass
class FakeRuntime:
    sessions: async_sessionmaker[AsyncSession]
    ctx: Context
    clock: FrozenClock
    outbox_writer: RecordingOutboxWriter


def _runtime(world: World) -> FakeRuntime:
    return FakeRuntime(world.sessions, world.ctx, world.clock, RecordingOutboxWriter())


async def test_jobs_are_planned_on_their_triggers(world: World) -> None:
    scheduler = JobScheduler(_runtime(world))
    scheduler.plan()
    jobs = {job.id: job for job in scheduler.scheduler.get_jobs()}
    assert sorted(jobs) == ["digest", "digest-catch-up", "purge", "sop", "voice_purge", "watch"]
    assert str(jobs["voice_purge"].trigger.timezone) == "Asia/Shanghai"
    watch, digest = jobs["watch"].trigger, jobs["digest"].trigger
    assert isinstance(watch, IntervalTrigger)
    assert watch.interval.total_seconds() == world.rules.watch_every_minutes * 60
    assert isinstance(digest, CronTrigger)
    assert str(digest.timezone) == "Asia/Shanghai"
    assert {f.name: str(f) for f in digest.fields}["hour"] == "9"
    assert (jobs["watch"].coalesce, jobs["watch"].max_instances) == (True, 1)


async def test_start_catches_up_at_once_and_stop_waits_for_the_running_job(
    world: World,
) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    world.clock.set(local(2026, 3, 10, 10, 15))
    runtime = _runtime(world)
    scheduler = JobScheduler(runtime)
    await scheduler.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_S
        while not {"watch", "sop", "digest"} <= set(scheduler.last_lines):
            assert loop.time() < deadline, f"jobs ran: {sorted(scheduler.last_lines)}"
            await asyncio.sleep(0.05)  # polling other tasks up to a deadline, not a timing guess
    finally:
        await scheduler.stop()
    assert scheduler.last_lines["watch"][-1] == "raised 1"
    assert scheduler.last_lines["digest"][-1] == "raised 2"  # 10:15 is past 09:00: both teams
    assert [source for source, _ in runtime.outbox_writer.queued].count("job:watch") == 1
