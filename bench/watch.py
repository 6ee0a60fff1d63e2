"""Bench the watch scan on PostgreSQL: 10k → 100k customers with ten follow-ups each (1M at 100k).

Usage: python bench/watch.py [--sizes 10000,30000,100000] [--notes-per-customer 10] [--pg-url URL]
A scratch database is created (and dropped) next to the one in --pg-url; rows go in with COPY.
For each size it times, as of one fixed moment:
  query  the set-based stall SQL alone (customers past their threshold and not yet told),
  first  a whole watch run on a clean alerts table (every rule; it raises the backlog),
  steady the next run 15 minutes later (what runs every 15 minutes in production),
then prints EXPLAIN for the stall SQL at the largest size. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from config.rules import load_rules  # noqa: E402
from handlers.clock import FrozenClock  # noqa: E402
from handlers.context import Context  # noqa: E402
from handlers.watch.scan import run_watch  # noqa: E402
from handlers.watch.stage_stall import candidates_stmt  # noqa: E402
from storage.db import create_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Friday
DEFAULT_PG = os.environ.get(
    "SALESBOT_TEST_PG_URL", "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"
)
STAGES = (
    ("线索", 0.15),
    ("意向", 0.25),
    ("方案", 0.2),
    ("谈判", 0.15),
    ("成交", 0.2),
    ("丢单", 0.05),
)
NOTES = (
    "电话沟通了需求，客户在比较方案",
    "上门拜访，见了采购和技术负责人",
    "发了报价，等待内部审批",
    "微信确认试用安排",
    "客户反馈预算下季度才批",
    "演示后客户要求补充案例",
)
REPEATS = 3
TEAMS, REPS_PER_TEAM = 10, 20


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _create_database(url: str) -> str:
    name = f"salesbot_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_dsn(url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop_database(url: str, name: str) -> None:
    admin = await asyncpg.connect(_dsn(url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _seed_people(conn: asyncpg.Connection) -> list[int]:
    created = NOW - timedelta(days=400)
    director = await conn.fetchval(
        "INSERT INTO users (name, role, active, created_at) VALUES ('赵强', 'director', true, $1)"
        " RETURNING id",
        created,
    )
    reps: list[int] = []
    for t in range(TEAMS):
        team = await conn.fetchval(
            "INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id",
            f"销售{t + 1}组",
            created,
        )
        manager = await conn.fetchval(
            "INSERT INTO users (name, role, team_id, manager_id, active, created_at)"
            " VALUES ($1, 'manager', $2, $3, true, $4) RETURNING id",
            f"主管{t + 1:02d}",
            team,
            director,
            created,
        )
        for r in range(REPS_PER_TEAM):
            reps.append(
                await conn.fetchval(
                    "INSERT INTO users (name, role, team_id, manager_id, active, created_at)"
                    " VALUES ($1, 'rep', $2, $3, true, $4) RETURNING id",
                    f"销售{t + 1:02d}-{r + 1:02d}",
                    team,
                    manager,
                    created,
                )
            )
    return reps


async def _add_customers(
    conn: asyncpg.Connection, first: int, last: int, reps: list[int], notes: int, rng: random.Random
) -> None:
    """Customers first..last-1 with `notes` follow-ups each; last_evidence_at = the last one."""
    names = [s for s, _ in STAGES]
    weights = [w for _, w in STAGES]
    customers: list[tuple[Any, ...]] = []
    followups: list[tuple[Any, ...]] = []
    for i in range(first, last):
        owner = rng.choice(reps)
        entered = NOW - timedelta(days=rng.uniform(1, 120))
        # Most reps keep in touch; a tail goes quiet (these are the stalls the scan finds).
        last_note = NOW - timedelta(days=min(rng.expovariate(1 / 4.0), 110))
        last_note = max(last_note, entered + timedelta(hours=1))
        step = NOW + timedelta(days=rng.uniform(-10, 10)) if rng.random() < 0.2 else None
        customers.append(
            (
                i + 1,
                f"客户{i + 1:06d}有限公司",
                "[]",
                owner,
                rng.choices(names, weights)[0],
                entered,
                "B",
                80,
                last_note if last_note < NOW else None,
                step,
                entered,
            )
        )
        at = last_note
        for _ in range(notes):
            followups.append((i + 1, owner, at, "text", rng.choice(NOTES), rng.choice(NOTES)))
            at -= timedelta(days=rng.uniform(1, 12))
    await conn.copy_records_to_table(
        "customers",
        records=customers,
        columns=[
            "id",
            "name",
            "aliases",
            "owner_id",
            "stage",
            "stage_entered_at",
            "level",
            "health_score",
            "last_evidence_at",
            "next_step_due_at",
            "created_at",
        ],
    )
    await conn.copy_records_to_table(
        "followups",
        records=followups,
        columns=["customer_id", "author_id", "created_at", "source", "raw_text", "summary"],
    )
    await conn.execute("SELECT setval('customers_id_seq', $1)", last)
    await conn.execute("ANALYZE customers; ANALYZE followups; ANALYZE alerts")


async def _timed(work: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await work()
    return time.perf_counter() - start, result


async def _measure(sessions: Any, ctx: Context) -> dict[str, Any]:
    async def query() -> int:
        async with sessions() as db:
            return len((await db.execute(candidates_stmt(db, ctx, now=NOW))).all())

    async def scan(at: datetime) -> int:
        async with sessions() as db, db.begin():
            return len((await run_watch(db, ctx, now=at)).raised)

    query_s = []
    for _ in range(REPEATS):
        seconds, stalled = await _timed(query)
        query_s.append(seconds)
    first_s, first_raised = await _timed(lambda: scan(NOW))
    steady_s = []
    for k in range(1, REPEATS + 1):
        seconds, _ = await _timed(lambda k=k: scan(NOW + timedelta(minutes=15 * k)))
        steady_s.append(seconds)
    return {
        "stalled": stalled,
        "query_s": round(statistics.median(query_s), 3),
        "first_scan_s": round(first_s, 3),
        "first_scan_raised": first_raised,
        "steady_scan_s": round(statistics.median(steady_s), 3),
    }


async def _explain(sessions: Any, ctx: Context) -> list[str]:
    async with sessions() as db:
        stmt = candidates_stmt(db, ctx, now=NOW)
        compiled = stmt.compile(
            dialect=db.get_bind().dialect, compile_kwargs={"render_postcompile": True}
        )
        raw = await (await db.connection()).get_raw_connection()
        driver = raw.driver_connection
        sql = str(compiled)
        params = compiled.construct_params()
        processors = compiled._bind_processors
        names = compiled.positiontup or []
        values = [processors[n](params[n]) if n in processors else params[n] for n in names]
        rows = await driver.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *values)
    return [row[0] for row in rows]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--notes-per-customer", type=int, default=10)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    name = await _create_database(args.pg_url)
    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    results: list[dict[str, Any]] = []
    try:
        await upgrade_to_head(engine)
        sessions = make_sessionmaker(engine)
        ctx = Context(clock=FrozenClock(NOW), rules=load_rules(), tz=TZ)
        conn = await asyncpg.connect(_dsn(args.pg_url, name))
        rng = random.Random(20260320)
        try:
            reps = await _seed_people(conn)
            have = 0
            for size in sizes:
                started = time.perf_counter()
                await _add_customers(conn, have, size, reps, args.notes_per_customer, rng)
                have = size
                await conn.execute("TRUNCATE alerts")
                seeded_s = time.perf_counter() - started
                figures = await _measure(sessions, ctx)
                notes = await conn.fetchval("SELECT count(*) FROM followups")
                row = {
                    "customers": size,
                    "followups": notes,
                    "seed_s": round(seeded_s, 1),
                    **figures,
                }
                results.append(row)
                print(
                    f"{size:>7} customers {notes:>8} follow-ups"
                    f" | stall SQL {row['query_s']:.3f} s ({row['stalled']} stalled)"
                    f" | first scan {row['first_scan_s']:.3f} s (raised {row['first_scan_raised']})"
                    f" | steady scan {row['steady_scan_s']:.3f} s",
                    flush=True,
                )
            plan = await _explain(sessions, ctx)
        finally:
            await conn.close()
    finally:
        await engine.dispose()
        await _drop_database(args.pg_url, name)
    print("EXPLAIN (ANALYZE) of the stall SQL at the largest size:")
    for line in plan:
        print("  " + line)
    big, small = results[-1], results[0]
    summary = {
        "bench": "watch",
        "sizes": results,
        "growth_query_x": round(big["query_s"] / max(small["query_s"], 1e-6), 2),
        "growth_customers_x": round(big["customers"] / small["customers"], 2),
        "target_s": 2.0,
        "steady_scan_at_largest_s": big["steady_scan_s"],
        "first_scan_at_largest_s": big["first_scan_s"],
        "meets_target": big["steady_scan_s"] < 2.0 and big["query_s"] < 2.0,
        "uses_indexes": any("Index" in line for line in plan),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
