"""Two `salesbot serve` processes on one PostgreSQL database behind the shipped nginx site.

The WeCom wire scenario through nginx with TLS: callbacks encrypted as WeCom encrypts them,
retried copies landing on both instances, both instances' scans, and a kill -9 mid-burst.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from handlers.clock import SystemClock
from storage.db import create_engine, make_sessionmaker
from storage.models import Alert
from storage.queue_models import InboxItem
from tests import pg
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_client import SignedCallback, WeComCallbacks
from tests.ops.cluster import (
    Instance,
    Nginx,
    ensure_nginx,
    free_port,
    metric_sum,
    rules_file,
    seed_company,
    self_signed_cert,
)
from tests.ops.conftest import SALESBOT
from tests.wecom.support import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

BURST = 200
CONCURRENCY = 20
DRAIN_DEADLINE_S = 150.0  # an instance killed with rows leased: they are retaken after the lease
# Texts no command starts with: the bot answers 没看懂「<text>」, echoing the token.
MSG_ID_BASE = {"探针": 910_000_000, "重投": 920_000_000, "压测": 930_000_000}
NOT_UNDERSTOOD = re.compile(r"没看懂「((?:探针|重投|压测)\d+)」")


@dataclass
class Cluster:
    fake: FakeWeCom
    instances: dict[str, Instance]
    nginx: Nginx
    wecom: WeComCallbacks
    http: aiohttp.ClientSession
    db_url: str
    users: list[str]  # wecom userids of the reps who send the test messages
    figures: dict[str, object] = field(default_factory=dict)

    async def post(self, url: str, callback: SignedCallback) -> int:
        async with self.http.post(url, params=callback.params, data=callback.body) as resp:
            await resp.read()
            return resp.status

    def text(self, n: int, *, tag: str = "压测") -> SignedCallback:
        """Message n of a series: its own MsgId, and a text the bot echoes in its answer."""
        sender = self.users[n % len(self.users)]
        msg_id = MSG_ID_BASE[tag] + n
        return self.wecom.post(self.wecom.text(sender, f"{tag}{n:04d}", msg_id=msg_id))

    async def inbox_rows_with(self, text: str) -> int:
        engine = create_engine(self.db_url)
        try:
            async with make_sessionmaker(engine)() as db:
                stmt = select(func.count()).where(InboxItem.payload.contains(text))
                return int(await db.scalar(stmt) or 0)
        finally:
            await engine.dispose()

    def answers(self) -> Counter[str]:
        """How many replies each test message got on the fake WeCom."""
        return Counter(
            found.group(1)
            for text in self.fake.sent_texts()
            if (found := NOT_UNDERSTOOD.search(text)) is not None
        )

    async def wait_answered(self, tokens: set[str], *, deadline_s: float) -> float:
        started = time.monotonic()
        while not tokens <= set(self.answers()):
            if time.monotonic() - started > deadline_s:
                missing = sorted(tokens - set(self.answers()))
                raise AssertionError(f"{len(missing)} never answered, e.g. {missing[:5]}")
            await asyncio.sleep(0.2)
        return time.monotonic() - started

    async def scrape(self, name: str, metric: str, **labels: str) -> float:
        async with self.http.get(f"{self.instances[name].url}/metrics") as resp:
            return metric_sum(await resp.text(), metric, labels)


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    return ensure_nginx()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    nginx_binary: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    name = await pg.create_database_from(pg_template)
    db_url = pg.url_for(name)
    engine = create_engine(db_url)
    users = await seed_company(make_sessionmaker(engine), now=SystemClock().now())
    await engine.dispose()

    fake = FakeWeCom(corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID, now=SystemClock().now)
    await fake.start()
    fake.robot_keys.add("robot-east")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")} | {
        "SALESBOT_DATABASE_URL": db_url,
        "SALESBOT_RULES_FILE": str(rules_file(tmp)),
        "SALESBOT_ASR_ENGINE": "none",
        "SALESBOT_SHUTDOWN_GRACE_S": "2",
        "SALESBOT_WECOM_CORP_ID": CORP_ID,
        "SALESBOT_WECOM_AGENT_ID": str(AGENT_ID),
        "SALESBOT_WECOM_SECRET": SECRET,
        "SALESBOT_WECOM_TOKEN": TOKEN,
        "SALESBOT_WECOM_AES_KEY": AES_KEY,
        "SALESBOT_WECOM_API_BASE": fake.base_url,
        # Honoured once the lease is a setting; until then the default lease applies.
        "SALESBOT_INBOX_LEASE_S": "10",
        "SALESBOT_OUTBOX_LEASE_S": "10",
    }
    instances = {label: Instance(label, SALESBOT, free_port(), env, tmp) for label in ("a", "b")}
    await asyncio.gather(*(i.start() for i in instances.values()))
    cert, key = self_signed_cert(tmp)
    nginx = Nginx(nginx_binary, tmp, [i.port for i in instances.values()], cert, key)
    await nginx.start()
    tls = ssl.create_default_context(cafile=str(cert))
    connector = aiohttp.TCPConnector(ssl=tls, limit=CONCURRENCY)
    http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=15))
    wecom = WeComCallbacks(
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        corp_id=CORP_ID,
        agent_id=AGENT_ID,
        now=SystemClock().now,
    )
    try:
        yield Cluster(fake, instances, nginx, wecom, http, db_url, users)
    finally:
        await http.close()
        await nginx.stop()
        await asyncio.gather(*(i.stop() for i in instances.values()))
        await fake.close()
        await pg.drop_database(name)


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Iterator[dict[str, object]]:
    """Figures a test collects; printed (not captured) when it ends."""
    figures: dict[str, object] = {}
    yield figures
    with capsys.disabled():
        print()  # noqa: T201
        for key, value in figures.items():
            print(f"    {key}: {value}")  # noqa: T201


async def test_every_callback_through_nginx_is_acked_and_answered_once(cluster, report) -> None:
    callbacks = [cluster.text(n, tag="探针") for n in range(20)]

    statuses = await asyncio.gather(
        *(cluster.post(cluster.nginx.callback_url, c) for c in callbacks)
    )

    assert statuses == [200] * 20
    tokens = {f"探针{n:04d}" for n in range(20)}
    took_s = await cluster.wait_answered(tokens, deadline_s=30)
    answers = cluster.answers()
    assert {answers[t] for t in tokens} == {1}
    report |= {"callbacks": 20, "acked": statuses.count(200), "answers": len(tokens),
               "answered within": f"{took_s:.1f} s"}  # fmt: skip


async def test_a_callback_whose_copies_land_on_both_instances_is_handled_once(
    cluster, report
) -> None:
    a, b = cluster.instances["a"], cluster.instances["b"]
    duplicates_before = sum(
        [await cluster.scrape(x, "salesbot_callbacks_total", outcome="duplicate") for x in "ab"]
    )
    # WeCom encrypts each delivery afresh: three different bodies for one MsgId.
    copies = [cluster.text(7, tag="重投") for _ in range(3)]
    targets = [f"{a.url}/wecom/callback", f"{b.url}/wecom/callback", cluster.nginx.callback_url]

    statuses = await asyncio.gather(
        *(cluster.post(t, c) for t, c in zip(targets, copies, strict=True))
    )

    assert statuses == [200, 200, 200]
    assert await cluster.inbox_rows_with("重投0007") == 1
    await cluster.wait_answered({"重投0007"}, deadline_s=30)
    await asyncio.sleep(1.0)  # a second answer would have come by now
    answered = cluster.answers()["重投0007"]
    duplicates_after = sum(
        [await cluster.scrape(x, "salesbot_callbacks_total", outcome="duplicate") for x in "ab"]
    )
    assert answered == 1
    assert duplicates_after - duplicates_before == 2
    report |= {"copies": 3, "stored": 1, "duplicates dropped": 2, "answers": answered}


async def test_kill_9_mid_burst_loses_no_callback_and_answers_each_once(cluster, report) -> None:
    victim = cluster.instances["a"]
    acked: list[int] = []
    killed_at: float | None = None
    duplicates_before_kill = 0.0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def send(n: int) -> None:
        nonlocal killed_at, duplicates_before_kill
        async with gate:
            status = await cluster.post(cluster.nginx.callback_url, cluster.text(n))
        acked.append(status)
        if len(acked) == BURST // 2 and killed_at is None:
            duplicates_before_kill = await cluster.scrape(
                "a", "salesbot_callbacks_total", outcome="duplicate"
            )
            victim.kill()  # SIGKILL: no shutdown, leases left behind
            killed_at = time.monotonic()

    burst_started = time.monotonic()
    await asyncio.gather(*(send(n) for n in range(BURST)))
    burst_s = time.monotonic() - burst_started
    await victim.start()  # as systemd's Restart=always would
    assert killed_at is not None

    tokens = {f"压测{n:04d}" for n in range(BURST)}
    await cluster.wait_answered(tokens, deadline_s=DRAIN_DEADLINE_S)
    drained_s = time.monotonic() - killed_at
    await asyncio.sleep(2.0)  # room for a second answer, if one were coming

    answers = cluster.answers()
    assert acked == [200] * BURST
    assert {answers[t] for t in tokens} == {1}
    stored = await cluster.inbox_rows_with("压测")
    assert stored == BURST
    duplicates = (
        duplicates_before_kill
        + await cluster.scrape("a", "salesbot_callbacks_total", outcome="duplicate")
        + await cluster.scrape("b", "salesbot_callbacks_total", outcome="duplicate")
    )
    # A reply the killed instance had sent but not yet marked sent goes out again after its
    # lease; WeCom's duplicate check (enable_duplicate_check, as the fake does) absorbs it.
    sends = sum(
        1
        for call in cluster.fake.calls("message/send")
        if NOT_UNDERSTOOD.search(call.body.decode()) and "压测" in call.body.decode()
    )
    report |= {
        "callbacks": BURST,
        "acked": acked.count(200),
        "stored in the inbox": stored,
        "retried by nginx to the other instance": cluster.nginx.retried(),
        "duplicates dropped (all tests so far)": int(duplicates),
        "answers": sum(answers[t] for t in tokens),
        "message/send calls for them (resends absorbed by WeCom)": sends,
        "burst took": f"{burst_s:.1f} s",
        "time to drain after the kill": f"{drained_s:.1f} s",
    }


async def test_both_instances_scan_and_each_warning_is_raised_once(cluster, report) -> None:
    # The fixture seeded a stalled customer and an untouched lead before either instance
    # started; since then both ran the watch job at start-up and every minute, and the killed
    # instance ran it again when it came back.
    engine = create_engine(cluster.db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            alerts = list(await db.scalars(select(Alert.dedupe_key).where(Alert.rule != "digest")))
    finally:
        await engine.dispose()
    runs = {name: watch_runs(i.log_text()) for name, i in cluster.instances.items()}
    to_reps = [view for view in delivered_views(cluster.fake) if not NOT_UNDERSTOOD.search(view)]
    to_groups = [
        json.dumps(body, ensure_ascii=False, sort_keys=True)
        for _key, body in cluster.fake.robot_messages
    ]

    assert alerts, "the seeded stalled customer and lead raised nothing"
    # Each instance ran the job; one may find the other holding the advisory lock and skip.
    assert all(run["scanned"] + run["skipped_locked"] >= 1 for run in runs.values()), runs
    assert sum(run["scanned"] for run in runs.values()) >= 1, runs
    assert sum(run["raised"] for run in runs.values()) == len(alerts) == len(set(alerts))
    assert to_reps, "no warning reached a rep"
    assert [view for view, n in Counter(to_reps).items() if n > 1] == []
    assert [view for view, n in Counter(to_groups).items() if n > 1] == []
    report |= {
        "watch runs per instance (incl. the restart)": runs,
        "warnings raised": len(alerts),
        "warnings delivered to reps": len(to_reps),
        "group robot messages (warnings, digest)": len(to_groups),
    }


def watch_runs(log: str) -> dict[str, int]:
    """From an instance's log: watch scans run, warnings they raised, runs skipped on the lock."""
    scanned = re.findall(r"watch_scanned\b.*\braised=(\d+)", log)
    skipped = re.findall(r"job_skipped_locked .*job=watch", log)
    return {
        "scanned": len(scanned),
        "raised": sum(int(n) for n in scanned),
        "skipped_locked": len(skipped),
    }


def delivered_views(fake: FakeWeCom) -> list[str]:
    """Every app message the fake WeCom showed, comparable across resends (no task_id)."""
    views = []
    for body in fake.delivered:
        kind = body.get("msgtype")
        content = dict(body.get(kind) or {})
        content.pop("task_id", None)
        views.append(
            f"{body.get('touser')} {kind} {json.dumps(content, ensure_ascii=False, sort_keys=True)}"
        )
    return views
