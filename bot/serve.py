"""`salesbot serve` / `salesbot worker`: migrate, open the runtime, serve until SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import aiohttp
import structlog
from aiohttp import web

from bot.app import Step, build_app
from bot.asr import AsrUnavailable, Transcriber, build_transcriber
from bot.runtime import Runtime
from config.rules import Rules
from config.settings import Settings
from handlers.clock import SystemClock
from handlers.extraction import warm_up
from storage.db import create_engine
from storage.migrate import upgrade_to_head

log = structlog.get_logger()

Hook = Callable[[], Awaitable[None]]


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
    try:
        extra_steps, on_start, on_stop = await _background(runtime)
    except (AsrUnavailable, ImportError) as err:
        await runtime.close()
        log.error(
            "asr_unavailable",
            error=str(err),
            fix="install the voice extra (pip install 'salesbot[voice]'), point "
            "SALESBOT_ASR_MODEL at a model directory, or set SALESBOT_ASR_ENGINE=none",
        )
        return 2
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


def transcriber_from_settings(
    settings: Settings, http: aiohttp.ClientSession | None = None
) -> Transcriber:
    """The SALESBOT_ASR_* engine, not started yet (call start() on it)."""
    return build_transcriber(
        settings.asr_engine,
        model=settings.asr_model,
        language=settings.asr_language,
        max_audio_s=settings.asr_max_audio_s,
        base_url=settings.asr_base_url,
        api_key=settings.asr_api_key,
        workers=max(1, settings.asr_workers),
        beam_size=settings.asr_beam_size,
        greedy_over_s=settings.asr_greedy_over_s,
        compute_type=settings.asr_compute_type,
        short_window=settings.asr_short_window,
        cache_dir=settings.cache_dir,
        http=http,
    )


async def _background(runtime: Runtime) -> tuple[dict[str, Step], list[Hook], list[Hook]]:
    """The voice workers and the scheduler."""
    from bot.scheduler import JobScheduler

    transcriber = transcriber_from_settings(runtime.settings, runtime.http)
    await transcriber.start()  # a missing or broken model stops start-up here, not later
    steps = voice_steps(runtime, transcriber)
    scheduler = JobScheduler(runtime)
    return steps, [scheduler.start], [scheduler.stop, transcriber.close]


def voice_steps(runtime: Runtime, transcriber: Transcriber) -> dict[str, Step]:
    """SALESBOT_ASR_WORKERS voice worker steps over a started transcriber (its owner closes it)."""
    from bot.voice_worker import VoiceWorker

    settings = runtime.settings
    if not runtime.adapters or settings.asr_workers <= 0:
        return {}
    worker = VoiceWorker(
        runtime.sessions,
        runtime.adapters,
        runtime.ctx,
        runtime.outbox_writer,
        transcriber,
        settings,
    )
    return {f"voice-{n}": worker.step for n in range(settings.asr_workers)}
