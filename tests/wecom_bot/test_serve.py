"""`salesbot serve` with only SALESBOT_WECOM_BOT_ID/SECRET set, two processes on PostgreSQL.

Against the fake gateway: a follow-up, a voice note, a task card accepted with one tap, a warning
pushed by the scheduler; one instance holds the connection, the other stands by; killing the
holder hands the connection over within 30 s, and nothing it had stored is lost.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from handlers.clock import SystemClock
from storage.db import create_engine, make_sessionmaker
from storage.models import Customer, Task, TaskStatus, Team, User
from tests import pg
from tests.fakes.wecom_bot_gateway import FakeBotGateway, content_of
from tests.ops.cluster import Instance, free_port, rules_file, seed_company
from tests.ops.conftest import SALESBOT
from tests.wecom_bot.conftest import BOT_ID, BOT_SECRET, GROUP

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TAKEOVER_S = 30.0
NOT_UNDERSTOOD = re.compile(r"没看懂「(探针\d+)」")


async def _seed(db_url: str) -> int:
    """The company of the ops tests, its team's bot group, and a task card for rep00."""
    engine = create_engine(db_url)
    sessions = make_sessionmaker(engine)
    now = SystemClock().now()
    await seed_company(sessions, now=now)
    async with sessions() as db, db.begin():
        await db.execute(update(Team).values(wecom_bot_chatid=GROUP))
        rep = (await db.execute(select(User).where(User.wecom_userid == "rep00"))).scalar_one()
        customer = (
            await db.execute(select(Customer).where(Customer.owner_id == rep.id))
        ).scalar_one()
        task = Task(
            dedupe_key="visit:serve", template_key="satisfaction_visit", title="满意度回访",
            checklist=[], customer_id=customer.id, assignee_id=rep.id, push_at=now,
            accept_by=now + timedelta(days=1), due_at=now + timedelta(days=3),
            status=TaskStatus.PUSHED, pushed_at=now, last_activity_at=now, created_at=now,
        )  # fmt: skip
        db.add(task)
        await db.flush()
        task_id = task.id
    await engine.dispose()
    return task_id


def _answers(gateway: FakeBotGateway) -> Counter[str]:
    return Counter(
        found.group(1)
        for sent in gateway.sent
        if (found := NOT_UNDERSTOOD.search(content_of(sent))) is not None
    )


async def test_two_serve_processes_one_connection_and_a_takeover_when_the_holder_dies(
    pg_template: str, tmp_path: Path
) -> None:
    gateway = FakeBotGateway(bot_id=BOT_ID, secret=BOT_SECRET)
    await gateway.start()
    name = await pg.create_database_from(pg_template)
    db_url = pg.url_for(name)
    task_id = await _seed(db_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")} | {
        "SALESBOT_DATABASE_URL": db_url,
        "SALESBOT_RULES_FILE": str(rules_file(tmp_path)),
        "SALESBOT_ASR_ENGINE": "none",  # the bot's voice notes arrive as the platform's text
        "SALESBOT_SHUTDOWN_GRACE_S": "2",
        "SALESBOT_WECOM_BOT_ID": BOT_ID,
        "SALESBOT_WECOM_BOT_SECRET": BOT_SECRET,
        "SALESBOT_WECOM_BOT_WS_URL": gateway.url,
        "SALESBOT_WECOM_BOT_LOCK_POLL_S": "2",
        "SALESBOT_INBOX_LEASE_S": "5",
        "SALESBOT_OUTBOX_LEASE_S": "5",
    }
    one = Instance("one", SALESBOT, free_port(), env, tmp_path)
    two = Instance("two", SALESBOT, free_port(), env, tmp_path)
    try:
        await one.start()
        first = await gateway.wait_for(lambda: gateway.connected)
        await two.start()  # ready as a standby: /readyz is 200 without the connection

        # A follow-up, a voice note, a task card's button: all answered through instance one.
        await gateway.push(gateway.text("rep00", "跟进 启明 电话确认了试用安排，下周三前给报价"))
        await gateway.wait_for(lambda: any("已记录跟进" in content_of(s) for s in gateway.sent))
        await gateway.push(gateway.voice("rep00", "跟进启明，客户要正式报价，周五前发"))
        await gateway.wait_for(
            lambda: any(s.body.get("msgtype") == "template_card" for s in gateway.sent)
        )
        click = gateway.click("rep00", f"accept {task_id}", f"task-{task_id}@1")
        await gateway.push(click)
        await gateway.wait_for(
            lambda: any(s.cmd == "aibot_respond_update_msg" for s in gateway.sent)
        )

        # The scheduler's watch scan at start-up: 宏达, a lead untouched, warns its rep.
        [warning] = await gateway.wait_for(lambda: gateway.sends_to("rep01"), timeout_s=60)
        assert "宏达" in content_of(warning)

        # A burst, and the holder killed right behind it.
        burst = [gateway.text(f"rep{n % 25:02d}", f"探针{n:04d}") for n in range(30)]
        for frame in burst:
            await gateway.push(frame)
        one.kill()
        killed_at = time.monotonic()
        second = await gateway.wait_for(
            lambda: gateway.connected not in (None, first) and gateway.connected,
            timeout_s=TAKEOVER_S,
        )
        takeover_s = time.monotonic() - killed_at
        for frame in burst:  # whatever WeCom resends after the drop is stored once
            await gateway.push(frame)
        tokens = {f"探针{n:04d}" for n in range(30)}
        await gateway.wait_for(lambda: tokens <= set(_answers(gateway)), timeout_s=60)
    finally:
        await one.stop()
        await two.stop()
        await gateway.close()
        await pg.drop_database(name)
    assert takeover_s < TAKEOVER_S
    assert gateway.subscribes == [first, second]  # never both connected, no flapping
    assert [s.conn for s in gateway.sent if s.conn not in (first, second)] == []
    # At least once: an answer the dead holder had sent but not yet marked sent goes out again.
    assert max(_answers(gateway).values()) <= 2
