"""Bench the nightly PHI on PostgreSQL: rep_phi + team_phi over a seeded company.

Usage: python bench/phi.py [--reps 100] [--customers 100000] [--followups 1000000]
                           [--payments 50000] [--pg-url URL] [--keep]
A scratch database is created next to the one in --pg-url (dropped afterwards unless --keep) and
migrated with the real alembic migrations. The rows are made in PostgreSQL itself
(INSERT … SELECT generate_series): 10 teams, the reps, their customers (one in five a lead with an
assignment and a first touch), two named contacts per customer, the follow-ups spread over a
year (half with a next step, one in ten waiting on the customer), one commitment per twenty
follow-ups, and the expected payments of contracts. After ANALYZE, the nightly PHI (rep_phi and
team_phi over the last 30 days, as the digest asks for it) is timed, best of --runs. The last line
is one JSON object with "customers" and "seconds".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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

from handlers.phi import rep_phi, team_phi  # noqa: E402
from storage.db import create_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402

PG_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
TEAMS = 10
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # the night the PHI is computed for
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


SEED = """
INSERT INTO teams (id, name, created_at)
  SELECT t, '团队' || t, $1::timestamptz FROM generate_series(1, {teams}) t;
INSERT INTO users (id, name, role, team_id, active, created_at)
  SELECT r, '销售' || r, 'rep', 1 + (r - 1) % {teams}, true, $1::timestamptz
  FROM generate_series(1, {reps}) r;
INSERT INTO customers (id, name, aliases, owner_id, stage, stage_entered_at, level,
                       health_score, created_at)
  SELECT c, '客户' || c, '[]', 1 + (c - 1) % {reps},
         CASE WHEN c % 5 = 0 THEN '线索' ELSE '意向' END,
         $1::timestamptz - (c % 365) * interval '1 day', 'B', 80,
         $1::timestamptz - interval '400 days'
  FROM generate_series(1, {customers}) c;
INSERT INTO leads (customer_id, source, region, assigned_to_id, assigned_at, touch_due_at,
                   first_touched_at, created_at)
  SELECT c, '官网表单', '华东', 1 + (c / 5 - 1) % {reps},
         $1::timestamptz - (c % 90) * interval '1 day',
         $1::timestamptz - (c % 90) * interval '1 day' + interval '24 hours',
         CASE WHEN c % 7 = 0 THEN NULL
              ELSE $1::timestamptz - (c % 90) * interval '1 day' + (c % 30) * interval '1 hour' END,
         $1::timestamptz - (c % 90) * interval '1 day'
  FROM generate_series(5, {customers}, 5) c;
INSERT INTO customer_contacts (id, customer_id, name, title, first_seen_at, last_seen_at)
  SELECT 2 * c - k, c, CASE k WHEN 0 THEN '李主任' ELSE '陈工' END,
         CASE k WHEN 0 THEN '主任' ELSE '设备科工程师' END, $1::timestamptz, $1::timestamptz
  FROM generate_series(1, {customers}) c, generate_series(0, 1) k;
INSERT INTO followups (customer_id, author_id, created_at, source, raw_text, summary, contact,
                       contact_id, next_action, next_action_due_at)
  SELECT 1 + (f::bigint * 7919) % {customers}, 1 + ((f::bigint * 7919) % {customers}) % {reps},
         $1::timestamptz - (abs(hashint4(f)) % 365) * interval '1 day'
           - (f % 24) * interval '1 hour',
         'text', '跟进', '',
         '李主任', 2 * (1 + (f::bigint * 7919) % {customers}) - (f % 2),
         CASE WHEN abs(hashint4(3 * f)) % 10 < 5 THEN NULL
              WHEN abs(hashint4(3 * f)) % 10 = 5 THEN '等客户回复' ELSE '发报价' END,
         CASE WHEN abs(hashint4(3 * f)) % 10 < 5 THEN NULL
              ELSE $1::timestamptz - (abs(hashint4(f)) % 365) * interval '1 day'
                   + interval '30 days' END
  FROM generate_series(1, {followups}) f;
INSERT INTO commitments (code, customer_id, owner_id, what, due_at, status, created_at, kept_at,
                         last_activity_at)
  SELECT 'C-B-' || k, 1 + (k * 31) % {customers}, 1 + ((k * 31) % {customers}) % {reps}, '报价',
         $1::timestamptz - (k % 365) * interval '1 day',
         CASE WHEN k % 4 = 0 THEN 'open' ELSE 'kept' END,
         $1::timestamptz - (k % 365) * interval '1 day' - interval '7 days',
         CASE WHEN k % 4 = 0 THEN NULL ELSE $1::timestamptz - (k % 365) * interval '1 day' END,
         $1::timestamptz - (k % 365) * interval '1 day'
  FROM generate_series(1, {followups} / 20) k;
INSERT INTO contracts (id, customer_id, owner_id, amount_yuan, expires_on, signed_at, updated_at)
  SELECT k, k * 2, 1 + (k - 1) % {reps}, 200000, date '2027-12-31',
         $1::timestamptz - (k % 365) * interval '1 day', $1::timestamptz
  FROM generate_series(1, {payments} / 2) k;
INSERT INTO receivables (contract_id, customer_id, owner_id, seq, label, amount_yuan, due_on,
                         step, step_at, paid_yuan, created_at)
  SELECT k, k * 2, 1 + (k - 1) % {reps}, s, '第' || s || '期', 100000,
         (date '2026-12-01' - (k % 365) + (s - 1) * 60),
         CASE WHEN k % 3 = 0 THEN 'archived' ELSE 'paid' END, $1::timestamptz,
         CASE WHEN k % 3 = 0 THEN 0 ELSE 100000 END, $1::timestamptz
  FROM generate_series(1, {payments} / 2) k, generate_series(1, 2) s;
"""


async def seed(url: str, args: argparse.Namespace) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(_dsn(url))
    try:
        sql = SEED.format(
            teams=TEAMS,
            reps=args.reps,
            customers=args.customers,
            followups=args.followups,
            payments=args.payments,
        )
        for statement in filter(str.strip, sql.split(";")):
            await conn.execute(statement, NOW)
        for table in ("users", "customers", "customer_contacts", "contracts"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def nightly(url: str, runs: int) -> tuple[float, dict[str, Any]]:
    engine = create_engine(url)
    sessions = make_sessionmaker(engine)
    best = float("inf")
    figures: dict[str, Any] = {}
    try:
        for _ in range(runs):
            start = time.perf_counter()
            async with sessions() as db:
                window = {"start": NOW - timedelta(days=30), "end": NOW, "tz": SHANGHAI}
                reps = await rep_phi(db, **window)
                teams = await team_phi(db, **window)
            best = min(best, time.perf_counter() - start)
        first = teams[0]
        figures = {
            "reps": len(reps),
            "teams": len(teams),
            "flagged": sum(r.waiting_flag for r in reps),
            "team_1": {
                "lead_activation": round(first.lead_activation or 0, 3),
                "action_closure": round(first.action_closure or 0, 3),
                "penetration": round(first.penetration or 0, 3),
                "commitment_closure": round(first.commitment_closure or 0, 3),
                "collection_rate": round(first.collection_rate or 0, 3),
                "followups": first.followups,
            },
        }
    finally:
        await engine.dispose()
    return best, figures


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    name = f"salesbot_bench_phi_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_dsn(args.pg_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()
        seed_s = await seed(url, args)
        seconds, figures = await nightly(url, args.runs)
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "reps": args.reps,
        "customers": args.customers,
        "followups": args.followups,
        "payments": args.payments,
        "seed_seconds": round(seed_s, 1),
        "figures": figures,
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "database": name if args.keep else None,
        "seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--payments", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs; the best is reported")
    parser.add_argument("--pg-url", default=os.environ.get("SALESBOT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if min(args.reps, args.customers, args.followups, args.payments) < 2:
        parser.error("every count must be at least 2")
    summary = asyncio.run(bench(args))
    print(
        f"nightly PHI for {summary['reps']} reps, {summary['customers']} customers, "
        f"{summary['followups']} follow-ups, {summary['payments']} expected payments: "
        f"{summary['seconds']:.3f} s (best of {args.runs}; "
        f"seeding took {summary['seed_seconds']} s,"
        f" load {summary['load_before']} → {summary['load_after']})",
        flush=True,
    )
    print(json.dumps({"figures": summary["figures"]}, ensure_ascii=False), flush=True)
    print(json.dumps({k: v for k, v in summary.items() if k != "figures"}, ensure_ascii=False))


if __name__ == "__main__":
    main()
