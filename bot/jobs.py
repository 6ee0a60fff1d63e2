"""Scheduled jobs by name (watch, sop, digest): run one under its advisory lock, report it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.alerting.findings import JobResult
from handlers.card_fit import fit_outgoing
from handlers.chat import Push, RecipientKind, message_as_text
from handlers.context import Context
from handlers.digest import run_digest
from handlers.retention import purge_queues
from handlers.sop import run_sop
from handlers.voice_media import run_voice_purge
from handlers.watch.scan import run_watch
from storage.locks import try_job_lock
from storage.models import Team, User

log = structlog.get_logger()


class Enqueue(Protocol):
    """Writes pushes as outbox rows in the job's own transaction (bot/outbox_writer.py)."""

    def __call__(
        self, db: AsyncSession, pushes: list[Push], *, now: datetime
    ) -> Awaitable[None]: ...


class JobRun(Protocol):
    def __call__(
        self, db: AsyncSession, ctx: Context, *, now: datetime, dry_run: bool = False
    ) -> Awaitable[JobResult]: ...


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    description: str
    run: JobRun


JOBS: dict[str, Job] = {
    "watch": Job(
        "watch",
        "预警扫描：停滞、新线索未跟进、待办无进展、承诺到期/逾期、任务卡超时、健康分",
        run_watch,
    ),
    "sop": Job("sop", "SOP 任务卡：补建任务、到期推送卡片、标记错过并更新健康分", run_sop),
    "digest": Job(
        "digest", "每日简报：各团队群的红色预警、逾期承诺、今日任务、流程健康度和图表", run_digest
    ),
    "purge": Job("purge", "清理：超过保留天数的已处理收件、已发送消息和已处理事件", purge_queues),
    "voice_purge": Job(
        "voice_purge",
        "语音录音保留期满清理：超过 SALESBOT_VOICE_RETENTION_DAYS 天的录音删除，文字记录保留",
        run_voice_purge,
    ),
}


async def run_job(
    name: str,
    *,
    sessions: async_sessionmaker[AsyncSession],
    ctx: Context,
    now: datetime,
    dry_run: bool = False,
    enqueue: Enqueue,
    with_pushes: bool = False,
) -> list[str]:
    """Run one job as of `now` in one transaction; the report lines, ending with `raised N`.

    On PostgreSQL the job first takes its advisory lock: if another instance holds it, this run
    does nothing. Alerts and tasks are inserted once per dedupe key, so a later run at the same
    time raises nothing new. With dry_run everything is rolled back and nothing is queued.
    """
    job = JOBS[name]
    with structlog.contextvars.bound_contextvars(job=name, dry_run=dry_run):
        async with sessions() as db:
            try:
                if not await try_job_lock(db, f"job:{name}"):
                    await db.rollback()
                    log.info("job_skipped_locked")
                    return [f"{name}: running on another instance, skipped", "raised 0"]
                result = await job.run(db, ctx, now=now, dry_run=dry_run)
                shown = await push_lines(db, result.pushes) if with_pushes else []
                if dry_run:
                    await db.rollback()
                else:
                    await enqueue(db, result.pushes, now=now)
                    await db.commit()
            except BaseException:
                await db.rollback()
                raise
    log.info("job_done", raised=len(result.raised), pushes=len(result.pushes))
    return [r.line() for r in result.raised] + shown + [f"raised {len(result.raised)}"]


async def push_lines(db: AsyncSession, pushes: list[Push]) -> list[str]:
    """What each person or group would read, one line per message (as split for the platforms)."""
    lines = []
    for push in fit_outgoing(pushes):
        if not isinstance(push, Push):
            continue
        row = await db.get(User if push.kind == RecipientKind.USER else Team, push.recipient_id)
        name = row.name if isinstance(row, User | Team) else str(push.recipient_id)
        who = name + ("群" if push.kind == RecipientKind.TEAM else "")
        text = message_as_text(push.message).replace("\n", " ")
        lines.append(f"  → {who}：{text}")
    return lines
