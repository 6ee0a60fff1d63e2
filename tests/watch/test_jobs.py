"""run_job: report lines, idempotent reruns, dry runs; concurrent runs raise each thing once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from bot.jobs import JOBS, run_job
from handlers.alerting.txn import isolated
from handlers.chat import Push
from handlers.watch.scan import run_watch
from storage.models import Alert, Customer
from tests.watch.conftest import World, local


@dataclass
class RecordingQueue:
    """A stand-in for the lead's outbox writer: remembers what it was asked to queue."""

    pushes: list[Push] = field(default_factory=list)

    async def __call__(self, db: AsyncSession, pushes: list[Push], *, now: datetime) -> None:
        self.pushes += pushes


async def _stalled(world: World, count: int) -> None:
    for i in range(count):
        await world.customer(
            f"杭州启明{i:02d}科技有限公司", stage="意向", entered=local(2026, 3, 2, 10)
        )


async def _run(
    world: World, name: str, at: datetime, queue: RecordingQueue, **kw: bool
) -> list[str]:
    return await run_job(name, sessions=world.sessions, ctx=world.ctx, now=at, enqueue=queue, **kw)


async def test_watch_job_prints_one_line_per_alert_and_the_count(world: World) -> None:
    await _stalled(world, 2)
    queue = RecordingQueue()
    out = await _run(world, "watch", local(2026, 3, 10, 10, 15), queue)
    assert out == [
        "王磊 | stage_stall | 杭州启明00科技有限公司 | yellow | A1",
        "王磊 | stage_stall | 杭州启明01科技有限公司 | yellow | A2",
        "raised 2",
    ]
    assert len(queue.pushes) == 2  # two customers: a card each, with its buttons


async def test_running_again_at_the_same_time_raises_nothing(world: World) -> None:
    await _stalled(world, 2)
    queue = RecordingQueue()
    await _run(world, "watch", local(2026, 3, 10, 10, 15), queue)
    again = await _run(world, "watch", local(2026, 3, 10, 10, 15), queue)
    assert again == ["raised 0"]


async def test_dry_run_prints_the_lines_and_writes_and_queues_nothing(world: World) -> None:
    await _stalled(world, 1)
    queue = RecordingQueue()
    out = await _run(world, "watch", local(2026, 3, 10, 10, 15), queue, dry_run=True)
    assert out[-1] == "raised 1"
    assert (await world.count(Alert), queue.pushes) == (0, [])


async def test_every_job_has_a_name_and_a_description() -> None:
    assert sorted(JOBS) == ["digest", "purge", "sop", "voice_purge", "watch"]
    assert all(job.description for job in JOBS.values())


async def test_two_runs_started_at_once_raise_together_what_one_run_raises(world: World) -> None:
    await _stalled(world, 30)
    queue = RecordingQueue()
    at = local(2026, 3, 10, 10, 15)
    first, second = await asyncio.gather(
        _run(world, "watch", at, queue), _run(world, "watch", at, queue)
    )
    raised = [line for line in first + second if " | " in line]
    assert len(raised) == 30
    assert len(set(raised)) == 30
    assert await world.count(Alert) == 30


async def test_concurrent_scans_without_the_lock_still_insert_each_alert_once(
    world: World,
) -> None:
    # The advisory lock is the first guard; the unique dedupe key is the one that cannot fail.
    await _stalled(world, 30)
    at = local(2026, 3, 10, 10, 15)

    async def scan() -> int:
        async with world.sessions() as db, db.begin():
            return len((await run_watch(db, world.ctx, now=at)).raised)

    counts = await asyncio.gather(*(scan() for _ in range(4)))
    assert (sum(counts), await world.count(Alert)) == (30, 30)


async def test_a_failing_row_is_rolled_back_logged_and_the_job_goes_on(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    with capture_logs() as logs:
        async with world.sessions() as db, db.begin():
            async with isolated(db, "sop_push_failed", task=7):
                (await db.get_one(Customer, 1)).health_score = 10
                await db.flush()
                raise ValueError("bad row")
            async with isolated(db, "sop_push_failed", task=8):
                (await db.get_one(Customer, 1)).level = "A"
    customer = await world.get(Customer, 1)
    assert (customer.health_score, customer.level) == (80, "A")
    assert [(e["event"], e["task"]) for e in logs if e["log_level"] == "error"] == [
        ("sop_push_failed", 7)
    ]
