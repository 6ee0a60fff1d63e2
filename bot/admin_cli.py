"""CLI glue for admin commands: offboarding, export, extract — database work in one place."""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from config.rules import Rules
from config.settings import Settings
from handlers.chat import Push, RecipientKind, Reply
from handlers.clock import Clock, SystemClock
from handlers.errors import UserError
from handlers.extraction import CustomerRef, format_log
from storage.db import create_engine, make_sessionmaker
from storage.migrate import upgrade_to_head
from storage.models import Customer

EXPORT_KINDS = ("customers", "followups", "commitments", "tasks", "audit")


async def _sessions(settings: Settings) -> Any:
    engine = create_engine(settings.database_url)
    await upgrade_to_head(engine)
    return engine, make_sessionmaker(engine)


async def deactivate(settings: Settings, rules: Rules, name: str, to: str) -> list[str]:
    """Hand over a leaving rep's work; the notices to both reps and the manager go to the outbox."""
    from bot.runtime import Runtime
    from handlers.offboarding import deactivate_user

    engine, _ = await _sessions(settings)
    await engine.dispose()
    runtime = await Runtime.open(settings, rules, SystemClock())
    try:
        now = runtime.clock.now()
        async with runtime.sessions() as db, db.begin():
            try:
                report = await deactivate_user(db, name, to, now=now, actor_id=None)
            except UserError as err:
                raise ValueError(err.problem) from None
            pushes = [
                Push(RecipientKind.USER, notice.user_id, Reply(notice.text), urgent=True)
                for notice in report.notices
            ]
            await runtime.outbox_writer.enqueue(db, pushes, now=now, source=f"offboard:{name}")
        return [*report.lines(), f"queued {len(pushes)} notice(s) for the people concerned"]
    finally:
        await runtime.close()


async def export_csv_file(settings: Settings, kind: str, file: Path, since: str | None) -> int:
    from handlers.exports import export_csv

    if kind not in EXPORT_KINDS:
        raise ValueError(f"export: expected one of {', '.join(EXPORT_KINDS)}, got {kind!r}")
    since_at = None
    if since is not None:
        try:
            day = datetime.strptime(since, "%Y-%m-%d").date()  # noqa: DTZ007 (a date, tz below)
        except ValueError:
            raise ValueError(f"--since: expected a date like 2026-03-01, got {since!r}") from None
        since_at = datetime.combine(day, time(0), tzinfo=settings.tz)
    engine, sessions = await _sessions(settings)
    try:
        async with sessions() as db:
            data = await export_csv(db, kind, since=since_at, tz=settings.tz)  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    await asyncio.to_thread(file.write_bytes, data)
    return len(data)


async def extract_note_cli(settings: Settings, rules: Rules, text: str, clock: Clock) -> list[str]:
    from bot.runtime import build_extractor

    engine, sessions = await _sessions(settings)
    try:
        async with sessions() as db:
            rows = (await db.execute(select(Customer.id, Customer.name, Customer.aliases))).all()
        refs = [CustomerRef(i, n, tuple(a or ())) for i, n, a in rows]
        import aiohttp

        async with aiohttp.ClientSession() as http:
            extractor = build_extractor(settings, http, stages=rules.stage_names)
            extraction = await extractor.extract(
                text, now=clock.now(), tz=settings.tz, customers=refs
            )
    finally:
        await engine.dispose()
    return [f"引擎：{extraction.engine}", *format_log(extraction, settings.tz)]
