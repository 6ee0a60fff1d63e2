"""`salesbot serve` / `salesbot worker`: migrate, open the runtime, serve until SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web

from bot.app import Step, build_app
from bot.runtime import Runtime
from config.rules import Rules
from config.settings import Settings
from handlers.clock import SystemClock
from handlers.extraction import warm_up
from storage.db import create_engine
from storage.migrate import upgrade_to_head

log = structlog.get_logger()


def run_server(settings: Settings, rules: Rules, *, host: str, port: int, http: bool) -> int:
    return asyncio.run(_serve(settings, rules, host=host, port=port, http=http))


async def _serve(settings: Settings, rules: Rules, *, host: str, port: int, http: bool) -> int:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    await asyncio.to_thread(warm_up)  # jionlp's dictionaries load once, before the first note
    runtime = await Runtime.open(settings, rules, SystemClock())
    extra_steps, on_start, on_stop = await _background(runtime)
    app = build_app(runtime, extra_steps=extra_steps, on_start=on_start, on_stop=on_stop)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    if http:
        await web.TCPSite(runner, host, port, backlog=1024).start()
        log.info("serving", host=host, port=port, platforms=[str(p) for p in runtime.adapters])
    else:
        log.info("worker_started", platforms=[str(p) for p in runtime.adapters])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting_down")
    await runner.cleanup()
    return 0


async def _background(runtime: Runtime) -> tuple[dict[str, Step], list, list]:  # type: ignore[type-arg]
    """The voice worker and the scheduler, when their modules are present."""
    steps: dict[str, Step] = {}
    on_start: list = []  # type: ignore[type-arg]
    on_stop: list = []  # type: ignore[type-arg]
    try:
        from bot.scheduler import JobScheduler
    except ImportError:
        log.warning("scheduler_missing")
    else:
        scheduler = JobScheduler(runtime)
        on_start.append(scheduler.start)
        on_stop.append(scheduler.stop)
    return steps, on_start, on_stop
