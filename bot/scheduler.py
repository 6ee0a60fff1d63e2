"""The scheduler facade: APScheduler (UTC) runs watch, sop and digest in each instance (run_job)."""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs import JOBS, run_job
from handlers.clock import Clock, SystemClock
from handlers.context import Context

try:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger
except ImportError as err:  # pragma: no cover - a broken install
    raise ImportError("APScheduler is missing: pip install 'apscheduler>=3.10,<4'") from err

log = structlog.get_logger()

STOP_GRACE_S = 30.0  # a running job finishes its transaction before shutdown
PURGE_AT = time(3, 30)  # local time: voice recordings past their retention are purged daily


class JobRuntime(Protocol):
    """What the scheduler needs from bot.runtime.Runtime."""

    sessions: async_sessionmaker[AsyncSession]
    ctx: Context
    clock: Clock
    outbox_writer: Any


class JobScheduler:
    """Runs every job on its schedule: watch and sop on intervals, digest daily at digest_at.

    Each instance runs its own scheduler; the advisory lock in run_job lets one instance work
    at a time and the dedupe keys make a repeated run harmless. At start every job runs once,
    so an instance that was down catches up at once (the digest only if its hour has passed).
    """

    def __init__(self, runtime: JobRuntime) -> None:
        self.runtime = runtime
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[Any]] = set()
        self.last_lines: dict[str, list[str]] = {}

    def plan(self) -> None:
        """Register the jobs (start() calls this; tests can inspect the plan without running)."""
        rules, tz = self.runtime.ctx.rules, self.runtime.ctx.tz
        soon = SystemClock().now()  # APScheduler fires on wall time; jobs read the runtime clock
        defaults = {"coalesce": True, "max_instances": 1, "replace_existing": True}
        self.scheduler.add_job(
            self.run,
            IntervalTrigger(minutes=rules.watch_every_minutes, timezone="UTC"),
            args=["watch"],
            id="watch",
            next_run_time=soon,
            misfire_grace_time=rules.watch_every_minutes * 60,
            **defaults,
        )
        self.scheduler.add_job(
            self.run,
            IntervalTrigger(minutes=rules.sop_every_minutes, timezone="UTC"),
            args=["sop"],
            id="sop",
            next_run_time=soon,
            misfire_grace_time=rules.sop_every_minutes * 60,
            **defaults,
        )
        at = rules.digest_at
        self.scheduler.add_job(
            self.run,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
            args=["digest"],
            id="digest",
            misfire_grace_time=6 * 3600,
            **defaults,
        )
        self.scheduler.add_job(  # daily, at night in the company's timezone
            self.run,
            CronTrigger(hour=3, minute=30, timezone=tz),
            args=["purge"],
            id="purge",
            misfire_grace_time=12 * 3600,
            **defaults,
        )
        self.scheduler.add_job(
            self.run,
            CronTrigger(hour=PURGE_AT.hour, minute=PURGE_AT.minute, timezone=tz),
            args=["voice_purge"],
            id="voice_purge",
            next_run_time=soon,
            misfire_grace_time=24 * 3600,
            **defaults,
        )
        self.scheduler.add_job(
            self.run,
            "date",
            run_date=soon,
            args=["digest"],
            id="digest-catch-up",
            replace_existing=True,
            misfire_grace_time=3600,
        )

    async def start(self) -> None:
        self.plan()
        self.scheduler.start()
        log.info("scheduler_started", jobs=sorted(JOBS))

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._running:
            await asyncio.wait(set(self._running), timeout=STOP_GRACE_S)
        log.info("scheduler_stopped")

    async def run(self, name: str) -> list[str]:
        """One run of `name` as of the runtime clock's now; errors are logged, never raised."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            runtime = self.runtime
            lines = await run_job(
                name,
                sessions=runtime.sessions,
                ctx=runtime.ctx,
                now=runtime.clock.now(),
                enqueue=self._enqueue_for(name),
            )
            self.last_lines[name] = lines
            return lines
        except Exception:
            log.exception("job_failed", job=name)
            return []
        finally:
            if task is not None:
                self._running.discard(task)

    def _enqueue_for(self, name: str) -> Any:
        outbox_writer = self.runtime.outbox_writer

        async def enqueue(db: AsyncSession, pushes: list[Any], *, now: datetime) -> None:
            await outbox_writer.enqueue(db, pushes, now=now, source=f"job:{name}")

        return enqueue
