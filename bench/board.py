"""Bench the web board on PostgreSQL: 100 reps, 100k customers, 1M follow-ups, pages over HTTP.

Usage: python bench/board.py [--customers 100000] [--followups 1000000] [--reps 100]
                             [--samples 40] [--pg-url URL] [--keep | --database NAME]
A scratch database is created next to the one in --pg-url (dropped at the end unless --keep),
migrated, and filled with COPY: 10 teams of 10 reps with their managers and a director; customers
in every stage (most won or lost, 30% of the open ones stalled), their stage history, follow-ups
(5% voice, 10% naming an amount), a commitment each (kept, open, overdue), signings and payments,
tasks and health-score changes. Then ANALYZE. The board is served in a child process exactly as
`salesbot serve` mounts it (bot.app.build_app, without the workers and the scheduler, so nothing
else loads the database while it is timed), and this process signs in through one-time links and
times each page over HTTP: the 作战室 as director, manager and rep, its ?tv=1 refresh, a random
customer's page, a rep page and the 承诺登记表. --database NAME times a database kept by an earlier
--keep run instead of building one. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from handlers.clock import SystemClock  # noqa: E402
from storage.board_auth import issue_login_token  # noqa: E402
from storage.db import create_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402

PG_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
STAGES = ("线索", "意向", "方案", "谈判", "成交", "丢单")
STAGE_SHARE = (0.20, 0.10, 0.06, 0.04, 0.35, 0.25)  # most of a 100k book is won or lost
STALE_SHARE = 0.30  # of the open customers: past their stage threshold
NOTES = ("电话沟通了报价，下周三前回复", "上门拜访了采购，周五前发方案", "微信确认了试用安排")


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(dsn: str, args: argparse.Namespace, now: datetime) -> dict[str, int]:
    rnd = random.Random(18)
    conn = await asyncpg.connect(dsn)
    try:
        teams = [
            (i + 1, f"华东{i + 1}组", now - timedelta(days=400)) for i in range(args.reps // 10)
        ]
        await conn.copy_records_to_table(
            "teams", records=teams, columns=["id", "name", "created_at"]
        )
        users: list[tuple[Any, ...]] = [(1, "总监", "director", None, None, True, now)]
        reps: list[int] = []
        for t, _name, _ in teams:
            manager_id = len(users) + 1
            users.append((manager_id, f"主管{t}", "manager", t, 1, True, now))
            for r in range(10):
                rep_id = len(users) + 1
                users.append((rep_id, f"销售{t}-{r}", "rep", t, manager_id, True, now))
                reps.append(rep_id)
        columns = ["id", "name", "role", "team_id", "manager_id", "active", "created_at"]
        await conn.copy_records_to_table("users", records=users, columns=columns)

        customers, history, events, audit = [], [], [], []
        last_touch: list[datetime] = []
        for cid in range(1, args.customers + 1):
            stage_index = rnd.choices(range(len(STAGES)), STAGE_SHARE)[0]
            created = now - timedelta(days=rnd.uniform(20, 365))
            path = list(range(min(stage_index, 4) + 1)) if stage_index < 5 else [0, 1, 5]
            moves = sorted(rnd.uniform(0, 1) for _ in path[1:])
            span = (now - created) * 0.9
            at = created
            history.append((cid, None, STAGES[0], created))
            for n, step in enumerate(path[1:]):
                at = created + span * moves[n]
                history.append((cid, STAGES[path[n]], STAGES[step], at))
            if stage_index >= 4:  # won or lost: last touched any time this year
                touched = now - timedelta(days=rnd.uniform(0, 365))
            elif rnd.random() < STALE_SHARE:
                touched = now - timedelta(days=rnd.uniform(8, 60))
            else:
                touched = now - timedelta(days=rnd.uniform(0, 6))
            touched = max(touched, at)
            last_touch.append(touched)
            customers.append(
                (
                    cid,
                    f"客户{cid:06d}有限公司",
                    [],
                    rnd.choice(reps),
                    STAGES[stage_index],
                    at,
                    rnd.choice("ABC"),
                    rnd.randint(40, 100),
                    touched,
                    None,
                    created,
                )
            )
            if STAGES[stage_index] == "成交":
                signed = at + timedelta(hours=1)
                events.append(
                    (cid, "contract_signed", signed, None, 30, Decimal(rnd.randint(5, 80) * 10_000))
                )
                if rnd.random() < 0.6:
                    events.append(
                        (
                            cid,
                            "payment_received",
                            signed + timedelta(days=rnd.uniform(5, 40)),
                            None,
                            None,
                            Decimal(rnd.randint(5, 50) * 10_000),
                        )
                    )
            if rnd.random() < 0.3:
                audit.append(
                    (
                        now - timedelta(days=rnd.uniform(0, 90)),
                        None,
                        "health_changed",
                        "customer",
                        cid,
                        json.dumps({"health_score": 80}),
                        json.dumps({"health_score": rnd.randint(40, 95)}),
                    )
                )
        columns = [
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
        ]
        customers = [(*c[:2], json.dumps(c[2]), *c[3:]) for c in customers]
        await conn.copy_records_to_table("customers", records=customers, columns=columns)
        await conn.copy_records_to_table(
            "stage_history",
            records=history,
            columns=["customer_id", "from_stage", "to_stage", "at"],
        )
        await conn.copy_records_to_table(
            "customer_events",
            records=events,
            columns=[
                "customer_id",
                "kind",
                "occurred_at",
                "contract_expires_on",
                "payment_term_days",
                "amount_yuan",
            ],
        )
        await conn.copy_records_to_table(
            "audit_log",
            records=audit,
            columns=["at", "actor_id", "action", "entity", "entity_id", "before", "after"],
        )

        owners = {c[0]: c[3] for c in customers}
        batch: list[tuple[Any, ...]] = []
        for n in range(args.followups):
            cid = n % args.customers + 1
            if n < args.customers:
                created = last_touch[cid - 1]
            else:
                created = last_touch[cid - 1] - timedelta(days=rnd.uniform(0.5, 300))
            voice = rnd.random() < 0.05
            amount = Decimal(rnd.randint(1, 100) * 10_000) if rnd.random() < 0.1 else None
            batch.append(
                (
                    cid,
                    owners[cid],
                    created,
                    "voice" if voice else "text",
                    rnd.choice(NOTES),
                    "语音转写：" + NOTES[0] if voice else None,
                    NOTES[n % 3],
                    amount,
                )
            )
            if len(batch) == 100_000:
                await _copy_followups(conn, batch)
                batch = []
        if batch:
            await _copy_followups(conn, batch)

        commitments = []
        for cid in range(1, args.customers + 1):
            due = now + timedelta(days=rnd.uniform(-60, 30))
            created = due - timedelta(days=rnd.uniform(1, 14))
            kept = due < now and rnd.random() < 0.7
            kept_at = due - timedelta(hours=rnd.uniform(-48, 48)) if kept else None
            commitments.append(
                (
                    f"C-B{cid:08d}",
                    cid,
                    owners[cid],
                    "发正式报价",
                    due,
                    "open" if not kept else "kept",
                    created,
                    kept_at,
                    created,
                )
            )
        await conn.copy_records_to_table(
            "commitments",
            records=commitments,
            columns=[
                "code",
                "customer_id",
                "owner_id",
                "what",
                "due_at",
                "status",
                "created_at",
                "kept_at",
                "last_activity_at",
            ],
        )
        tasks = []
        for cid in range(1, args.customers + 1, 5):
            push = now - timedelta(days=rnd.uniform(0, 30))
            tasks.append(
                (
                    f"bench:{cid}",
                    "satisfaction_visit",
                    "满意度回访",
                    "[]",
                    cid,
                    owners[cid],
                    push,
                    push + timedelta(days=1),
                    push + timedelta(days=3),
                    rnd.choice(["pushed", "accepted", "done"]),
                    push,
                    push,
                )
            )
        await conn.copy_records_to_table(
            "tasks",
            records=tasks,
            columns=[
                "dedupe_key",
                "template_key",
                "title",
                "checklist",
                "customer_id",
                "assignee_id",
                "push_at",
                "accept_by",
                "due_at",
                "status",
                "last_activity_at",
                "created_at",
            ],
        )
        for table in ("teams", "users", "customers"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await conn.execute("ANALYZE")
        return {
            "customers": len(customers),
            "followups": args.followups,
            "stage_moves": len(history),
            "commitments": len(commitments),
            "events": len(events),
            "tasks": len(tasks),
            "users": len(users),
        }
    finally:
        await conn.close()


async def count_rows(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        tables = {
            "customers": "customers",
            "followups": "followups",
            "stage_moves": "stage_history",
            "commitments": "commitments",
            "events": "customer_events",
            "tasks": "tasks",
            "users": "users",
        }
        return {k: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for k, t in tables.items()}
    finally:
        await conn.close()


async def _copy_followups(conn: asyncpg.Connection, batch: list[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table(
        "followups",
        records=batch,
        columns=[
            "customer_id",
            "author_id",
            "created_at",
            "source",
            "raw_text",
            "transcript",
            "summary",
            "amount_yuan",
        ],
    )


def serve(url: str, port: int) -> None:
    """The child process: the board as `salesbot serve` mounts it, without workers."""
    from aiohttp import web

    from bot.app import build_app
    from bot.runtime import Runtime
    from config.rules import load_rules
    from config.settings import Settings
    from handlers.clock import SystemClock

    async def run() -> None:
        settings = Settings(
            database_url=url, asr_engine="none", public_url=f"http://127.0.0.1:{port}"
        )
        runtime = await Runtime.open(settings, load_rules(), SystemClock())
        runner = web.AppRunner(build_app(runtime, workers=False), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


async def login(url: str, base: str, user_id: int) -> aiohttp.ClientSession:
    engine = create_engine(url)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            raw = await issue_login_token(db, user_id, now=SystemClock().now())
    finally:
        await engine.dispose()
    http = aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"/board/login?t={raw}", allow_redirects=False) as resp:
        if resp.status != 303:
            raise SystemExit(f"login answered {resp.status}: {await resp.text()}")
    return http


async def timed(http: aiohttp.ClientSession, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        started = time.perf_counter()
        async with http.get(path) as resp:
            await resp.read()
            if resp.status != 200:
                raise SystemExit(f"{path} answered {resp.status}")
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=20)[-1], 1) if len(values) > 1 else values[0]


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    reuse = args.database is not None
    name = args.database or f"salesbot_bench_board_{uuid.uuid4().hex[:8]}"
    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    child = None
    if not reuse:
        await _admin(args.pg_url, f'CREATE DATABASE "{name}"')
    try:
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()
        started = time.perf_counter()
        if reuse:
            rows = await count_rows(_dsn(args.pg_url, name))
        else:
            rows = await seed(_dsn(args.pg_url, name), args, SystemClock().now())
        seed_s = round(time.perf_counter() - started, 1)
        port = args.port
        child = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
            [sys.executable, __file__, "--serve", url, "--port", str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        await asyncio.to_thread(child.stdout.readline)  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        rnd = random.Random(7)
        director = await login(url, base, 1)
        manager = await login(url, base, 2)
        rep = await login(url, base, 3)
        n = args.samples
        customers = [f"/board/customers/{rnd.randint(1, rows['customers'])}" for _ in range(n)]
        reps = [f"/board/reps/{rnd.randint(3, 12)}" for _ in range(max(5, n // 4))]
        try:
            # The first 作战室 of each view computes its 90-day funnel figures in the request;
            # after that they are refreshed in the background (bot/web/cache.py).
            cold = {
                "board_cold_ms": round((await timed(director, ["/board"]))[0], 1),
                "board_manager_cold_ms": round((await timed(manager, ["/board"]))[0], 1),
                "board_rep_cold_ms": round((await timed(rep, ["/board"]))[0], 1),
            }
            await timed(director, ["/board"] * 2 + customers[:3])  # warm pools and caches
            result = {
                "board_p95_ms": p95(await timed(director, ["/board"] * n)),
                "customer_p95_ms": p95(await timed(director, customers)),
                "board_manager_p95_ms": p95(await timed(manager, ["/board"] * n)),
                "board_rep_p95_ms": p95(await timed(rep, ["/board"] * n)),
                "tv_refresh_p95_ms": p95(await timed(director, ["/board?tv=1&fragment=1"] * n)),
                "rep_page_p95_ms": p95(await timed(director, reps)),
                "commitments_p95_ms": p95(await timed(director, ["/board/commitments"] * n)),
            }
            result["board_median_ms"] = round(
                statistics.median(await timed(director, ["/board"] * 10)), 1
            )
        finally:
            for http in (director, manager, rep):
                await http.close()
    finally:
        if child is not None:
            child.terminate()
            await asyncio.to_thread(child.wait)
        if not args.keep and not reuse:
            await _admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        **result,
        **cold,
        "bench": "board",
        "samples": args.samples,
        **rows,
        "seed_s": seed_s,
        "database": name if args.keep or reuse else "dropped",
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=100, help="a multiple of 10")
    parser.add_argument("--samples", type=int, default=40, help="requests per page")
    parser.add_argument("--port", type=int, default=18_180)
    parser.add_argument("--pg-url", default=os.environ.get("SALESBOT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", default=None, help="time a database kept by --keep")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    print(json.dumps(asyncio.run(bench(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
