"""`salesbot jobs run`: one scheduled job, once, as of a given time, with its pushes queued."""

from __future__ import annotations

from config.rules import Rules
from config.settings import Settings
from handlers.clock import Clock


async def run_job_once(
    settings: Settings, rules: Rules, name: str, *, clock: Clock, dry_run: bool
) -> list[str]:
    from bot.jobs import run_job
    from bot.runtime import Runtime
    from storage.db import create_engine
    from storage.migrate import upgrade_to_head

    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    runtime = await Runtime.open(settings, rules, clock)
    try:
        return await run_job(
            name,
            sessions=runtime.sessions,
            ctx=runtime.ctx,
            now=clock.now(),
            dry_run=dry_run,
            enqueue=runtime.outbox_writer.enqueue,
            with_pushes=True,
        )
    finally:
        await runtime.close()
