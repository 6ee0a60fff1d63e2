"""Bench WeCom callback acks: `salesbot serve` on PostgreSQL next to a bare aiohttp handler.

Usage: python bench/callback.py [--rate 500] [--seconds 20] [--concurrency 64] [--pg-url URL]
Three servers, one at a time, each its own process on 127.0.0.1: a bare aiohttp app that answers
200 to any POST; `salesbot serve` (workers and scheduler included, replies going to a stub WeCom
API); and salesbot's app without its workers (the ack path alone). Each gets fresh encrypted text
callbacks (unique MsgIds): first at a fixed rate (open loop; ack latency p50/p99), then as fast as
`--concurrency` connections allow (throughput). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

from tests.fakes.wecom_client import SignedCallback, WeComCallbacks  # noqa: E402

CORP_ID = "wwbench000000000001"
AGENT_ID = 1000002
TOKEN = "BenchToken2026"  # noqa: S105 - a throwaway callback token
AES_KEY = "QmVuY2hLZXlCZW5jaEtleUJlbmNoS2V5QmVuY2hLZXk"  # 43 characters, test-only
SECRET = "bench-secret"  # noqa: S105 - the stub API accepts anything
PG_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
PATH = "/wecom/callback"
SENDERS = ("wanglei", "lina", "zhangwei", "chenjing")
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=30)


# --- helper servers (run as subprocesses of this script) ---------------------------------------
async def _serve_forever(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


def serve_bare(port: int) -> None:
    """The baseline: read the body, answer an empty 200. No crypto, no database."""

    async def ack(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="")

    app = web.Application()
    app.router.add_post(PATH, ack)
    app.router.add_get("/healthz", healthz)
    asyncio.run(_serve_forever(app, port))


def serve_stub_api(port: int) -> None:
    """A minimal WeCom API for salesbot's replies: gettoken and message/send always succeed."""

    async def gettoken(request: web.Request) -> web.Response:
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": "t", "expires_in": 7200}
        )

    async def send(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "m"})

    app = web.Application()
    app.router.add_get("/cgi-bin/gettoken", gettoken)
    app.router.add_post("/cgi-bin/message/send", send)
    app.router.add_get("/healthz", healthz)
    asyncio.run(_serve_forever(app, port))


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


# --- load ---------------------------------------------------------------------------------------
@dataclass
class Result:
    sent: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    behind_ms: list[float] = field(default_factory=list)  # how late the client sent (open loop)

    @property
    def per_s(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def summary(self) -> dict[str, Any]:
        behind = sorted(self.behind_ms)
        return {
            "requests": self.sent,
            "per_s": round(self.per_s, 1),
            "p50_ms": round(self.pct(0.50), 2),
            "p99_ms": round(self.pct(0.99), 2),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "client_behind_p99_ms": round(behind[int(0.99 * len(behind))], 2) if behind else None,
        }


def callbacks(count: int, run: str) -> Iterator[SignedCallback]:
    """Encrypted text callbacks as WeCom sends them, each with its own MsgId."""
    maker = WeComCallbacks(
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        corp_id=CORP_ID,
        agent_id=AGENT_ID,
        now=lambda: datetime.fromtimestamp(time.time(), UTC),
    )
    base = int(uuid.uuid4().int % 10**12) * 10**6
    for n in range(count):
        sender = SENDERS[n % len(SENDERS)]
        text = f"跟进 启明科技 {run} 第{n}次电话沟通，下周三前给报价"
        yield maker.post(maker.text(sender, text, msg_id=base + n))


async def post(session: aiohttp.ClientSession, url: str, callback: SignedCallback) -> int:
    """The HTTP status of one callback; 0 if nothing came back within WeCom's patience × 6."""
    try:
        async with session.post(
            url, params=callback.params, data=callback.body, timeout=CLIENT_TIMEOUT
        ) as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def fixed_rate(url: str, load: list[SignedCallback], rate: float) -> Result:
    """Open loop: request i leaves at start + i/rate whatever the earlier ones are doing."""
    result = Result()
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = loop.time() + 0.2

        async def one(i: int, callback: SignedCallback) -> None:
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            sent_at = loop.time()
            result.behind_ms.append((sent_at - due) * 1000)
            result.statuses[await post(session, url, callback)] += 1
            result.latencies_ms.append((loop.time() - sent_at) * 1000)

        await asyncio.gather(*(one(i, c) for i, c in enumerate(load)))
        result.seconds = loop.time() - start
    result.sent = len(load)
    return result


async def flat_out(
    url: str, load: list[SignedCallback], concurrency: int, seconds: float
) -> Result:
    """Closed loop: `concurrency` connections, each sending its next callback as soon as acked."""
    result = Result()
    loop = asyncio.get_running_loop()
    feed = iter(load)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = loop.time()
        stop_at = start + seconds

        async def worker() -> None:
            for callback in feed:
                if loop.time() >= stop_at:
                    return
                sent_at = loop.time()
                result.statuses[await post(session, url, callback)] += 1
                result.latencies_ms.append((loop.time() - sent_at) * 1000)
                result.sent += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = loop.time() - start
    return result


# --- orchestration ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(url: str, deadline_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline_s
    async with aiohttp.ClientSession() as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            if loop.time() > until:
                raise RuntimeError(f"{url} not ready after {deadline_s} s")
            await asyncio.sleep(0.1)


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def on_admin_db(admin_url: str, sql: str, *, database: str | None = None) -> object:
    url = admin_url.rsplit("/", 1)[0] + f"/{database}" if database else admin_url
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def measure(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then the fixed-rate phase and the flat-out phase against one server."""
    await flat_out(url, list(callbacks(200, f"{name}-warm")), 16, 5.0)
    fixed = await fixed_rate(
        url, list(callbacks(int(args.rate * args.seconds), f"{name}-rate")), args.rate
    )
    flat = await flat_out(
        url, list(callbacks(args.flat_cap, f"{name}-flat")), args.concurrency, args.seconds
    )
    print(
        f"{name:15} at {args.rate:.0f}/s: p50 {fixed.pct(0.5):.2f} ms, "
        f"p99 {fixed.pct(0.99):.2f} ms, achieved {fixed.per_s:.0f}/s",
        dict(fixed.statuses),
        flush=True,
    )
    print(
        f"{name:15} flat out ({args.concurrency} conns): {flat.per_s:.0f}/s, "
        f"p50 {flat.pct(0.5):.2f} ms, p99 {flat.pct(0.99):.2f} ms",
        dict(flat.statuses),
        flush=True,
    )
    return {"fixed_rate": fixed.summary(), "flat_out": flat.summary()}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    logs = Path(args.logs)
    load_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews it all
    db_name = f"salesbot_bench_{uuid.uuid4().hex[:8]}"
    await on_admin_db(args.pg_url, f'CREATE DATABASE "{db_name}"')
    db_url = args.pg_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    api_port = free_port()
    env = {
        **os.environ,
        "SALESBOT_DATABASE_URL": f"{db_url}/{db_name}",
        "SALESBOT_WECOM_CORP_ID": CORP_ID,
        "SALESBOT_WECOM_AGENT_ID": str(AGENT_ID),
        "SALESBOT_WECOM_SECRET": SECRET,
        "SALESBOT_WECOM_TOKEN": TOKEN,
        "SALESBOT_WECOM_AES_KEY": AES_KEY,
        "SALESBOT_WECOM_API_BASE": f"http://127.0.0.1:{api_port}",
        "SALESBOT_ASR_ENGINE": "none",
    }
    me = [sys.executable, __file__]
    salesbot = str(Path(sys.executable).with_name("salesbot"))
    # One server at a time, so none of them steals CPU from another. callbacks_only is the same
    # app without its workers: it shows what the ack path costs when nothing else runs.
    servers = {
        "bare": [*me, "--serve-bare"],
        "salesbot": [salesbot, "serve", "--host", "127.0.0.1", "--port"],
        "callbacks_only": [*me, "--serve-callbacks-only"],
    }
    stub = spawn([*me, "--serve-stub-api", str(api_port)], env, logs / "stub_api.log")
    out: dict[str, dict[str, Any]] = {}
    try:
        await wait_ready(f"http://127.0.0.1:{api_port}/healthz")
        for name, command in servers.items():
            port = free_port()
            proc = spawn([*command, str(port)], env, logs / f"{name}.log")
            try:
                await wait_ready(f"http://127.0.0.1:{port}/healthz")
                out[name] = await measure(name, f"http://127.0.0.1:{port}{PATH}", args)
            finally:
                stop(proc)
        stored = await on_admin_db(args.pg_url, "SELECT count(*) FROM inbox", database=db_name)
    finally:
        stop(stub)
        await on_admin_db(args.pg_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    bare_tp = out["bare"]["flat_out"]["per_s"]
    bot_tp = out["salesbot"]["flat_out"]["per_s"]
    bot_fixed = out["salesbot"]["fixed_rate"]
    acked_all = bot_fixed["statuses"] == {"200": bot_fixed["requests"]}
    return {
        "bench": "wecom_callback",
        "rate": args.rate,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
        },
        **out,
        "inbox_rows": stored,
        "throughput_ratio": round(bot_tp / bare_tp, 3) if bare_tp else None,
        "callbacks_only_ratio": round(out["callbacks_only"]["flat_out"]["per_s"] / bare_tp, 3)
        if bare_tp
        else None,
        "targets": {
            "ack_p99_under_50ms_at_rate": bot_fixed["p99_ms"] < 50 and acked_all,
            "throughput_at_least_20pct_of_bare": bool(bare_tp) and bot_tp / bare_tp >= 0.2,
        },
    }


def serve_callbacks_only(port: int) -> None:
    """salesbot's own app (bot.app.build_app) from the same settings, without its workers."""
    from bot.app import build_app
    from bot.runtime import Runtime
    from config.rules import load_rules
    from config.settings import load_settings
    from handlers.clock import SystemClock

    async def run() -> None:
        runtime = await Runtime.open(load_settings(), load_rules(), SystemClock())
        await _serve_forever(build_app(runtime, workers=False), port)

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="fixed-rate phase, callbacks/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--concurrency", type=int, default=64, help="connections, flat-out phase")
    parser.add_argument("--flat-cap", type=int, default=40_000, help="callbacks ready for flat out")
    parser.add_argument("--pg-url", default=os.environ.get("SALESBOT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--logs", default=None, help="directory for the servers' logs")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-stub-api", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-callbacks-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if args.serve_stub_api:
        serve_stub_api(args.serve_stub_api)
        return
    if args.serve_callbacks_only:
        serve_callbacks_only(args.serve_callbacks_only)
        return
    args.logs = Path(args.logs or tempfile.mkdtemp(prefix="salesbot-bench-"))
    args.logs.mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(bench(args))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
