"""Bench the inbox worker on PostgreSQL: how fast `InboxWorker.step` drains stored text commands.

Usage: python bench/inbox.py [--messages 2000] [--senders 50] [--batch N] [--promise] [--pg-url URL]
A scratch database is created (and dropped) next to the one in --pg-url and migrated. One team is
seeded: a manager and S reps with WeCom userids, each owning a few customers. N WeCom text
callbacks are stored in the inbox as the callback route stores them (`store_event`, the decrypted
XML, unique MsgIds), the senders taking turns; each is a typed follow-up (跟进 <alias> …) that
writes a follow-up and queues a reply (with --promise, a commitment too). A Runtime is opened on
WeCom settings whose API base answers nothing: only the inbox worker runs, never the outbox
sender. The drain (`step()` until it returns False) is timed. Then every inbox row must be done,
with N follow-ups (each sender's in the order sent) and N replies queued; if not, the errors are
printed and it exits 1. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import inspect
import json
import os
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import inbox_worker  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.wecom.events import message_key, read_inbound  # noqa: E402
from config.rules import load_rules  # noqa: E402
from config.settings import Settings  # noqa: E402
from handlers.clock import SystemClock  # noqa: E402
from handlers.extraction import warm_up  # noqa: E402
from storage.db import create_engine, make_sessionmaker  # noqa: E402
from storage.inbox import store_event  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402
from storage.models import Commitment, Customer, Followup, HandledEvent, Role, Team, User  # noqa: E402
from storage.queue_models import InboxItem, ItemStatus, OutboxItem  # noqa: E402
from tests.fakes.wecom_client import WeComCallbacks  # noqa: E402

PG_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
CORP_ID = "wwbench000000000001"
AGENT_ID = 1000002
TOKEN = "BenchToken2026"  # noqa: S105 - a throwaway callback token
AES_KEY = "QmVuY2hLZXlCZW5jaEtleUJlbmNoS2V5QmVuY2hLZXk"  # 43 characters, test-only
SECRET = "bench-secret"  # noqa: S105 - nothing is ever sent
NOWHERE = "http://127.0.0.1:9"  # the discard port: the outbox sender does not run anyway
CUSTOMERS_PER_REP = 4
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "磊娜伟静敏强丽军芳杰"
BRANDS = ("启明", "瑞康", "宏达", "海川", "南方", "华信", "远航", "恒泰", "金石", "天成")
BRANDS += ("云帆", "博远", "新创", "汇通", "正和", "长青", "嘉禾", "鼎盛", "安泰", "明德")
CITIES = ("杭州", "苏州", "宁波", "佛山", "广州", "南京", "无锡", "合肥")
TRADES = ("科技", "药业", "建材", "物流", "电子", "机械")
NOTES = (
    "电话沟通了报价，下周三前回复",
    "上门拜访了采购，周五前发方案",
    "微信确认了试用安排，月底前给反馈",
)
PROMISE = "电话沟通了报价，我答应下周三前发正式报价"  # --promise: a commitment too, with its code


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


def rep_name(i: int) -> str:
    pairs = len(SURNAMES) * len(GIVEN)
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
    return name if i < pairs else f"{name}{i // pairs + 1}"


def customer_alias(j: int) -> str:
    squared = len(BRANDS) ** 2
    alias = BRANDS[j % len(BRANDS)] + BRANDS[(j // len(BRANDS)) % len(BRANDS)]
    return alias if j < squared else f"{alias}{j // squared + 1}"


async def seed(sessions: async_sessionmaker[AsyncSession], senders: int, now: datetime) -> None:
    """华东一组: manager 陈静 and `senders` reps (wecom ids rep000…), each with a few customers."""
    since = now - timedelta(days=90)
    async with sessions() as db, db.begin():
        team = Team(name="华东一组", created_at=since)
        db.add(team)
        await db.flush()
        manager = User(
            name="陈静",
            role=Role.MANAGER,
            team_id=team.id,
            wecom_userid="chenjing",
            created_at=since,
        )
        db.add(manager)
        await db.flush()
        reps = [
            User(
                name=rep_name(i),
                role=Role.REP,
                team_id=team.id,
                manager_id=manager.id,
                wecom_userid=f"rep{i:03d}",
                created_at=since,
            )
            for i in range(senders)
        ]
        db.add_all(reps)
        await db.flush()
        for i, rep in enumerate(reps):
            for k in range(CUSTOMERS_PER_REP):
                j = i * CUSTOMERS_PER_REP + k
                alias = customer_alias(j)
                city, trade = CITIES[j % len(CITIES)], TRADES[j % len(TRADES)]
                db.add(
                    Customer(
                        name=f"{city}{alias}{trade}有限公司",
                        aliases=[alias],
                        owner_id=rep.id,
                        stage="意向",
                        stage_entered_at=now - timedelta(days=10),
                        created_at=now - timedelta(days=30),
                    )
                )


async def store_messages(
    sessions: async_sessionmaker[AsyncSession],
    messages: int,
    senders: int,
    clock: SystemClock,
    notes: tuple[str, ...],
) -> None:
    """N text callbacks, decrypted, stored as bot/wecom/callback.py stores them."""
    maker = WeComCallbacks(
        token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID, now=clock.now
    )
    base = 7_400_000_000_000_000_000
    stored = []
    for n in range(messages):
        i = n % senders
        turn = n // senders
        alias = customer_alias(i * CUSTOMERS_PER_REP + turn % CUSTOMERS_PER_REP)
        text = f"跟进 {alias} {notes[turn % len(notes)]}"
        xml = maker.text(f"rep{i:03d}", text, msg_id=base + n)
        key = message_key(read_inbound(xml))
        stored.append(
            store_event(sessions, platform="wecom", message_key=key, payload=xml, now=clock.now())
        )
    new = await asyncio.gather(*stored)  # group commit, as concurrent callbacks share it
    if sum(new) != messages:
        raise RuntimeError(f"stored {sum(new)} new inbox rows, expected {messages}")


def load_worker_class(path: str | None) -> type[inbox_worker.InboxWorker]:
    """InboxWorker from bot/inbox_worker.py, or from another copy of that file (another version)."""
    if path is None:
        return inbox_worker.InboxWorker
    spec = importlib.util.spec_from_file_location("bench_inbox_worker_under_test", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # inspect.getfile() looks the class's module up there
    spec.loader.exec_module(module)
    cls: type[inbox_worker.InboxWorker] = module.InboxWorker
    return cls


def describe(cls: type[inbox_worker.InboxWorker]) -> dict[str, str]:
    """Which file the worker came from, and a digest of it (the tree may change between runs)."""
    source = Path(inspect.getfile(cls))
    return {
        "worker": str(source),
        "worker_sha256": hashlib.sha256(source.read_bytes()).hexdigest()[:12],
    }


async def check(
    sessions: async_sessionmaker[AsyncSession], messages: int, promised: int
) -> dict[str, Any]:
    """What the drain left: every row done, one follow-up and one reply per message, and each
    sender's follow-ups in the order the messages were sent."""
    async with sessions() as db:
        statuses = dict(
            (
                await db.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status))
            ).all()
        )
        errors = Counter(
            (error or "")[:300]
            for error in (
                await db.execute(
                    select(InboxItem.last_error).where(InboxItem.last_error.is_not(None))
                )
            ).scalars()
        )
        retried = await db.scalar(select(func.count()).where(InboxItem.attempts > 1))
        followups = (
            await db.execute(
                select(Followup.author_id, Followup.source_message_id).order_by(Followup.id)
            )
        ).all()
        commitments = await db.scalar(select(func.count(func.distinct(Commitment.code))))
        handled = await db.scalar(select(func.count()).select_from(HandledEvent))
        replies = list((await db.execute(select(OutboxItem.payload))).scalars())
    logged = sum(1 for p in replies if str(p.get("text", "")).startswith("已记录跟进"))
    sent: dict[int, list[int]] = {}
    for author_id, source in followups:  # text:m|AgentID|FromUserName|MsgId
        sent.setdefault(author_id, []).append(int(source.rsplit("|", 1)[1]))
    in_order = all(ids == sorted(ids) for ids in sent.values())
    return {
        "inbox": {str(k): v for k, v in statuses.items()},
        "retried": retried,
        "errors": dict(errors),
        "followups": len(followups),
        "followups_in_order": in_order,
        "commitments": commitments,
        "handled_events": handled,
        "replies": len(replies),
        "replies_followup_logged": logged,
        "ok": statuses == {ItemStatus.DONE: messages}
        and len(followups) == messages
        and in_order
        and commitments == promised
        and handled == messages
        and logged == messages == len(replies),
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]  # the machine may be shared
    name = f"salesbot_bench_{uuid.uuid4().hex[:8]}"
    await _admin(args.pg_url, f'CREATE DATABASE "{name}"')
    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    clock = SystemClock()
    try:
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine)
            setup = make_sessionmaker(engine)
            await seed(setup, args.senders, clock.now())
            notes = (PROMISE,) if args.promise else NOTES
            await store_messages(setup, args.messages, args.senders, clock, notes)
        finally:
            await engine.dispose()
        settings = Settings(
            database_url=url,
            wecom_corp_id=CORP_ID,
            wecom_agent_id=AGENT_ID,
            wecom_secret=SECRET,
            wecom_token=TOKEN,
            wecom_aes_key=AES_KEY,
            wecom_api_base=NOWHERE,
            asr_engine="none",
            llm_base_url=None,
            llm_model=None,
        )
        runtime = await Runtime.open(settings, load_rules(), clock)
        try:
            shipped = runtime.inbox_worker
            cls = load_worker_class(args.worker_module)
            options: dict[str, Any] = {"batch": args.batch} if args.batch else {}
            worker = cls(
                shipped.sessions,
                shipped.adapters,
                shipped.ctx,
                shipped.outbox_writer,
                voice_intake=shipped.voice_intake,
                max_attempts=shipped.max_attempts,
                lease=shipped.lease,
                **options,
            )
            runtime.inbox_worker = worker
            await asyncio.to_thread(warm_up)  # as `salesbot serve` does before the first note
            opened = 0  # new database connections: past pool_size the pool opens one per use

            def count_connect(*_: object) -> None:
                nonlocal opened
                opened += 1

            event.listen(runtime.engine.sync_engine, "connect", count_connect)
            steps = 0
            started, cpu_started = time.perf_counter(), time.process_time()
            while await worker.step():
                steps += 1
            seconds = time.perf_counter() - started
            cpu_s = time.process_time() - cpu_started  # this process only, not PostgreSQL's
            left = await check(
                runtime.sessions, args.messages, args.messages if args.promise else 0
            )
        finally:
            await runtime.close()
    finally:
        await _admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "bench": "inbox_drain",
        "messages": args.messages,
        "senders": args.senders,
        "batch": worker.batch,
        **describe(cls),
        "steps": steps,
        "seconds": round(seconds, 3),
        "per_s": round(args.messages / seconds, 1),
        "cpu_ms_per_message": round(cpu_s * 1000 / args.messages, 2),
        "connections_opened": opened,
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        **left,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=50, help="reps sending, in turn")
    parser.add_argument("--batch", type=int, default=None, help="inbox rows per step")
    parser.add_argument("--promise", action="store_true", help="each note makes a commitment")
    parser.add_argument("--pg-url", default=os.environ.get("SALESBOT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--log-level", default="WARNING")
    # Another version of bot/inbox_worker.py (e.g. `git show HEAD:bot/inbox_worker.py` saved
    # to a file): its InboxWorker replaces the runtime's, the rest of the tree stays as it is.
    parser.add_argument("--worker-module", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.messages < 1 or args.senders < 1:
        parser.error("--messages and --senders must be at least 1")
    configure_logging(args.log_level)
    summary = asyncio.run(bench(args))
    print(
        f"{summary['messages']} messages from {summary['senders']} senders, batch "
        f"{summary['batch']}: drained in {summary['seconds']:.2f} s, "
        f"{summary['per_s']:.1f} messages/s ({summary['steps']} steps), "
        f"{summary['cpu_ms_per_message']:.2f} ms of this process's CPU per message",
        flush=True,
    )
    print(
        f"inbox {summary['inbox']}, follow-ups {summary['followups']} (each sender's in order: "
        f"{summary['followups_in_order']}), commitments {summary['commitments']}, replies queued "
        f"{summary['replies']}, rows retried {summary['retried']}, "
        f"connections opened {summary['connections_opened']}",
        flush=True,
    )
    for error, count in summary["errors"].items():
        print(f"  last_error ×{count}: {error}", flush=True)
    print(json.dumps(summary, ensure_ascii=False))
    if not summary["ok"]:
        sys.exit("inbox drain incomplete: not every row done with its follow-up and reply (above)")


if __name__ == "__main__":
    main()
