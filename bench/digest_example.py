"""Redraw docs/digest_example.png: the demo team's digest chart, three weeks into the demo.

Usage: PYTHONPATH=. python bench/digest_example.py
It seeds the demo into a scratch SQLite file, runs the watch scan as the days pass, and draws
the digest exactly as the 9:00 job would (tests/watch/test_digest_truth.py checks the figures).
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from config.rules import load_rules
from handlers.clock import FrozenClock
from handlers.context import Context
from handlers.demo import seed_demo
from handlers.digest import build_team_digest, digest_members
from handlers.watch.scan import run_watch
from storage.db import create_engine, make_sessionmaker
from storage.migrate import upgrade_to_head
from storage.models import Team

OUT = Path(__file__).parents[1] / "docs" / "digest_example.png"
START = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)


async def main() -> None:
    tz, rules = ZoneInfo("Asia/Shanghai"), load_rules()
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite+aiosqlite:///{scratch}/demo.db")
        await upgrade_to_head(engine)
        sessions = make_sessionmaker(engine)
        clock = FrozenClock(START)
        ctx = Context(clock=clock, rules=rules, tz=tz)
        async with sessions() as db, db.begin():
            await seed_demo(db, now=clock.now(), rules=rules, tz=tz)
        for _ in range(21):
            clock.current += timedelta(days=1)
            async with sessions() as db, db.begin():
                await run_watch(db, ctx, now=clock.now())
        async with sessions() as db:
            team = (await db.execute(select(Team))).scalars().first()
            if team is None:
                raise SystemExit("the demo has no team")
            digest = await build_team_digest(
                db, ctx, team, await digest_members(db, team), now=clock.now()
            )
        await engine.dispose()
    OUT.write_bytes(digest.chart)
    print(digest.text)
    print(f"wrote {OUT} ({len(digest.chart)} bytes)")


if __name__ == "__main__":
    asyncio.run(main())
