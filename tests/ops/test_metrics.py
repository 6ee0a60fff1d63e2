"""/metrics, /healthz, /readyz on the real app; the Grafana dashboard queries real metric names."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.runtime import Runtime
from config.settings import Settings
from handlers.clock import FrozenClock
from storage import inbox, outbox
from storage.outbox import Address
from tests.ops.cluster import free_port

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "salesbot.json"
# What issue #9 asks /metrics to carry, by exposed name.
REQUIRED = {
    "salesbot_inbox_lag_seconds": "gauge",
    "salesbot_outbox_rows": "gauge",
    "salesbot_callback_seconds": "histogram",
    "salesbot_callback_rejections_total": "counter",
    "salesbot_asr_job_seconds": "histogram",
    "salesbot_alerts_raised_total": "counter",
}


@pytest.fixture
async def serve(sqlite_url, clock: FrozenClock, rules) -> AsyncIterator[Callable]:
    """The app as `salesbot serve` builds it, on SQLite with no platform; workers on request."""
    opened: list[tuple[TestClient, Runtime]] = []

    async def start(*, workers: bool = False, url: str = sqlite_url) -> tuple[TestClient, Runtime]:
        settings = Settings(database_url=url, asr_engine="none")
        runtime = await Runtime.open(settings, rules, clock)
        client = TestClient(TestServer(build_app(runtime, workers=workers), host="127.0.0.1"))
        await client.start_server()
        opened.append((client, runtime))
        return client, runtime

    yield start
    for client, _runtime in opened:
        await client.close()


def types_in(exposition: str) -> dict[str, str]:
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", exposition, flags=re.MULTILINE))


def sample(exposition: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    (value,) = re.findall(pattern, exposition, flags=re.MULTILINE)
    return float(value)


async def test_metrics_is_prometheus_text_with_every_metric_the_issue_lists(serve) -> None:
    client, _ = await serve()

    async with client.get("/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        body = await resp.text()

    declared = types_in(body)
    for name, kind in REQUIRED.items():
        assert declared.get(name) == kind, name
    assert sample(body, "salesbot_outbox_rows", '{status="dead"}') >= 0


async def test_inbox_lag_and_dead_letters_reflect_the_database(serve, clock) -> None:
    client, runtime = await serve()
    received_at = clock.now() - timedelta(seconds=42)
    await inbox.store_event(
        runtime.sessions,
        platform="wecom",
        message_key="wanglei:90001",
        payload="<xml/>",
        now=received_at,
    )
    nobody = Address(platform="wecom", channel="app_user", target="wanglei", rate_key="u:wanglei")
    async with runtime.sessions() as db, db.begin():
        row_id = await outbox.add(db, nobody, {"type": "text", "text": "早上好"}, now=clock.now())
        assert row_id is not None
        await outbox.mark_dead(db, row_id, error="81013 user & party & tag all invalid")
    await runtime.inbox_worker.refresh_metrics()
    await runtime.outbox_sender.refresh_metrics()

    async with client.get("/metrics") as resp:
        body = await resp.text()

    assert sample(body, "salesbot_inbox_lag_seconds") == 42.0
    assert sample(body, "salesbot_inbox_pending") == 1.0
    assert sample(body, "salesbot_outbox_rows", '{status="dead"}') == 1.0
    assert sample(body, "salesbot_outbox_rows", '{status="new"}') == 0.0


async def test_healthz_answers_alive_without_the_database(serve) -> None:
    client, _ = await serve(url=f"postgresql+asyncpg://salesbot:x@127.0.0.1:{free_port()}/none")

    async with client.get("/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "alive"}


async def test_readyz_is_503_naming_the_database_when_it_is_unreachable(serve) -> None:
    client, _ = await serve(url=f"postgresql+asyncpg://salesbot:x@127.0.0.1:{free_port()}/none")

    async with client.get("/readyz") as resp:
        assert resp.status == 503
        answer = await resp.json()
    assert answer["ready"] is False
    assert answer["checks"]["database"].startswith("unreachable")


async def test_readyz_is_503_when_no_worker_runs(serve) -> None:
    client, _ = await serve(workers=False)

    async with client.get("/readyz") as resp:
        assert resp.status == 503
        answer = await resp.json()
    assert answer["checks"] == {"database": "ok", "workers": "stopped: none started"}


async def test_readyz_is_200_with_the_database_up_and_the_workers_running(serve) -> None:
    client, _ = await serve(workers=True)

    async with client.get("/readyz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"ready": True, "checks": {"database": "ok", "workers": "ok"}}


def test_the_grafana_dashboard_only_queries_metrics_the_app_exposes() -> None:
    from prometheus_client import generate_latest

    from bot.metrics import REGISTRY

    exposed = set(types_in(generate_latest(REGISTRY).decode()))
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queried = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for expr in exprs
        for name in re.findall(r"\bsalesbot_[a-z_]+", expr)
    }

    assert queried <= exposed, queried - exposed
    assert set(REQUIRED) <= queried
    assert "salesbot_inbox_dead" in queried
