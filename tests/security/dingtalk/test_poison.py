"""Finding 3: a message that fails every time, and whose apology fails too, stays dead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import INBOX_PENDING, REGISTRY
from config.rules import Rules
from handlers.clock import FrozenClock
from storage.inbox import store_event
from storage.queue_models import InboxItem, ItemStatus, OutboxItem
from storage.upsert import dialect_name
from tests.dingtalk.test_end_to_end import salesbot
from tests.fakes.dingtalk import FakeDingTalk, robot_message

ROOT = Path(__file__).resolve().parents[3]
# The database itself refuses anything addressed to this sender, as PostgreSQL refused a
# 600-character outbox target: the reply fails, and the apology fails the same way.
REFUSE_SQLITE = (
    "CREATE TRIGGER refuse_poison BEFORE INSERT ON outbox WHEN NEW.target LIKE 'poison%' "
    "BEGIN SELECT RAISE(ABORT, 'target refused'); END"
)
REFUSE_PG = (
    "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
    "IF NEW.target LIKE 'poison%' THEN RAISE EXCEPTION 'target refused'; END IF; "
    "RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse_poison BEFORE INSERT ON outbox FOR EACH ROW "
    "EXECUTE FUNCTION refuse_poison()",
)


async def refuse_poison_targets(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as db, db.begin():
        statements = REFUSE_PG if dialect_name(db) == "postgresql" else (REFUSE_SQLITE,)
        for statement in statements:
            await db.execute(text(statement))


async def row(sessions: async_sessionmaker[AsyncSession], key: str) -> InboxItem:
    async with sessions() as db:
        item = await db.scalar(select(InboxItem).where(InboxItem.message_key == key))
        assert item is not None
        return item


def dead_total() -> float:
    labels = {"platform": "dingtalk"}
    return REGISTRY.get_sample_value("salesbot_inbox_given_up_total", labels) or 0.0


async def test_a_poison_message_is_dead_after_its_last_attempt_and_never_taken_again(
    db_url: str,
    fake_dingtalk: FakeDingTalk,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    await refuse_poison_targets(sessions)
    payload = json.dumps(
        robot_message(text="我的", msg_id="msgPoison", sender="poison-wanglei"), ensure_ascii=False
    )
    await store_event(
        sessions, platform="dingtalk", message_key="msgPoison", payload=payload, now=clock.now()
    )
    before = dead_total()
    async with salesbot(db_url, fake_dingtalk, clock, rules, workers=False) as bot:
        worker = bot.runtime.inbox_worker
        for _ in range(12):  # well past the 5 attempts, each after its retry time
            await worker.step()
            clock.advance(minutes=10)
        await worker.refresh_metrics()
        item = await row(sessions, "msgPoison")
        pending = REGISTRY.get_sample_value("salesbot_inbox_pending")
    assert (item.status, item.attempts) == (ItemStatus.DEAD, worker.max_attempts)
    assert item.last_error
    assert "target refused" in item.last_error
    assert pending == 0 == INBOX_PENDING._value.get()
    assert dead_total() == before + 1
    logged = capsys.readouterr().out
    assert logged.count("inbox_apology_failed") == 1
    async with sessions() as db:
        assert list((await db.execute(select(OutboxItem))).scalars()) == []

    listed = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "inbox", "list", "--dead"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SALESBOT_DATABASE_URL": db_url},
        check=True,
    )
    [line] = [ln for ln in listed.stdout.splitlines() if "msgPoison" in ln]
    assert "\tdead\t" in line
    assert "attempts=5" in line
    assert "target refused" in line
    assert listed.stdout.rstrip().endswith("1 row(s)")


async def test_a_stored_payload_that_no_longer_reads_is_dead_at_once(
    db_url: str,
    fake_dingtalk: FakeDingTalk,
    clock: FrozenClock,
    rules: Rules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Stored before the edge checks existed: a sender id no outbox target can hold.
    payload = json.dumps(robot_message(text="我的", msg_id="msgOld", sender="s" * 600))
    await store_event(
        sessions, platform="dingtalk", message_key="msgOld", payload=payload, now=clock.now()
    )
    async with salesbot(db_url, fake_dingtalk, clock, rules, workers=False) as bot:
        for _ in range(3):
            await bot.runtime.inbox_worker.step()
            clock.advance(minutes=10)
    item = await row(sessions, "msgOld")
    assert (item.status, item.attempts) == (ItemStatus.DEAD, 1)
