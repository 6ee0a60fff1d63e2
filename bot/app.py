"""The aiohttp app: platform callbacks, health, metrics; workers and scheduler in its lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot.leads_http import leads_routes
from bot.media import media_routes
from bot.metrics import REGISTRY
from bot.runtime import Runtime
from bot.supervise import supervise

log = structlog.get_logger()

RUNTIME = web.AppKey("runtime", Runtime)
WORKER_TASKS = web.AppKey("worker_tasks", list[asyncio.Task[None]])
METRICS_EVERY_S = 10.0

Step = Callable[[], Awaitable[bool]]


def build_app(
    runtime: Runtime,
    *,
    workers: bool = True,
    extra_steps: dict[str, Step] | None = None,
    on_start: list[Callable[[], Awaitable[None]]] | None = None,
    on_stop: list[Callable[[], Awaitable[None]]] | None = None,
) -> web.Application:
    """The web app; `workers=False` serves callbacks only (tests drive the workers by hand)."""
    app = web.Application(client_max_size=runtime.settings.callback_max_bytes)
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_routes(media_routes(runtime))
    for adapter in runtime.adapters.values():
        app.router.add_routes(adapter.routes())
    app.router.add_routes(leads_routes(runtime))
    if runtime.settings.board_enabled:
        _mount_board(app, runtime)
    app.cleanup_ctx.append(_adapters_ctx)
    if workers:
        steps: dict[str, Step] = {
            "inbox": runtime.inbox_worker.step,
            "outbox": runtime.outbox_sender.step,
            "metrics": _metrics_step(runtime),
            **(extra_steps or {}),
        }
        app.cleanup_ctx.append(_workers_ctx(steps, on_start or [], on_stop or []))
    return app


def _mount_board(app: web.Application, runtime: Runtime) -> None:
    from bot.web import BoardDeps, setup_board
    from handlers.chat import Platform

    wecom = runtime.adapters.get(Platform.WECOM)
    dingtalk = runtime.adapters.get(Platform.DINGTALK)
    deps = BoardDeps(
        settings=runtime.settings,
        rules=runtime.rules,
        clock=runtime.clock,
        sessions=runtime.sessions,
        wecom=getattr(wecom, "client", None),
        dingtalk=getattr(dingtalk, "client", None),
    )
    setup_board(app, deps)


async def _adapters_ctx(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    for adapter in runtime.adapters.values():
        await adapter.start()
    yield
    await runtime.close()


def _workers_ctx(
    steps: dict[str, Step],
    on_start: list[Callable[[], Awaitable[None]]],
    on_stop: list[Callable[[], Awaitable[None]]],
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        runtime = app[RUNTIME]
        stop = asyncio.Event()
        wakes = {"inbox": runtime.inbox_wake, "outbox": runtime.outbox_wake}
        wakes |= {name: runtime.voice_wake for name in steps if name.startswith("voice-")}
        idle = {"metrics": METRICS_EVERY_S}
        try:  # a restart takes back at once what this instance held when it died
            await runtime.inbox_worker.reclaim_own()
        except Exception:
            log.warning("inbox_reclaim_failed", exc_info=True)
        app[WORKER_TASKS] = [
            asyncio.create_task(
                supervise(name, step, stop, wakes.get(name), idle.get(name, 0.5)), name=name
            )
            for name, step in steps.items()
        ]
        for start in on_start:
            await start()
        yield
        stop.set()  # SIGTERM: finish the current item, then exit
        _done, pending = await asyncio.wait(
            app[WORKER_TASKS], timeout=runtime.settings.shutdown_grace_s
        )
        for task in pending:  # a job cut short is taken again when its lease runs out
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for stop_hook in on_stop:  # only now: workers no longer use the transcriber
            await stop_hook()

    return ctx


def _metrics_step(runtime: Runtime) -> Step:
    async def step() -> bool:
        await runtime.inbox_worker.refresh_metrics()
        await runtime.outbox_sender.refresh_metrics()
        return False

    return step


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    checks: dict[str, str] = {}
    ok = True
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as err:
        ok, checks["database"] = False, f"unreachable: {type(err).__name__}"
    tasks = request.app.get(WORKER_TASKS, [])
    dead = [t.get_name() for t in tasks if t.done()]
    checks["workers"] = (
        "ok" if tasks and not dead else f"stopped: {', '.join(dead) or 'none started'}"
    )
    ok = ok and bool(tasks) and not dead
    for platform, adapter in runtime.adapters.items():
        readiness = getattr(adapter, "readiness", None)
        if readiness is not None:
            ready, detail = readiness()
            checks[str(platform)] = detail
            ok = ok and ready
    return web.json_response({"ready": ok, "checks": checks}, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
