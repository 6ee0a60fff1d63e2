"""The runtime: settings, database, HTTP session, adapters, workers — built once, closed once."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.adapter import Adapter, AdapterDeps
from bot.inbox_worker import InboxWorker
from bot.outbox_sender import OutboxSender
from bot.outbox_writer import OutboxWriter
from bot.voice_intake import VoiceIntake
from config.rules import Rules
from config.settings import Settings
from handlers.chat import Platform
from handlers.clock import Clock
from handlers.context import Context
from handlers.extraction import Extractor, RuleExtractor
from storage.db import create_engine, make_sessionmaker

log = structlog.get_logger()

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)


@dataclass
class Runtime:
    settings: Settings
    rules: Rules
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: aiohttp.ClientSession
    ctx: Context
    adapters: dict[Platform, Adapter]
    outbox_writer: OutboxWriter
    inbox_worker: InboxWorker
    outbox_sender: OutboxSender
    inbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    voice_wake: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def open(cls, settings: Settings, rules: Rules, clock: Clock) -> Runtime:
        engine = create_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        wake, outbox_wake, voice_wake = asyncio.Event(), asyncio.Event(), asyncio.Event()
        extractor = build_extractor(settings, http, stages=rules.stage_names)
        ctx = Context(
            clock=clock,
            rules=rules,
            tz=settings.tz,
            extractor=extractor,
            max_note_chars=settings.max_note_chars,
            extract_budget_s=settings.extract_budget_s,
            retention_days=settings.retention_days,
            public_url=settings.public_url,
            voice_retention_days=settings.voice_retention_days,
        )
        deps = AdapterDeps(
            settings=settings, sessions=sessions, clock=clock, http=http, wake_inbox=wake.set
        )
        adapters = build_adapters(deps)
        outbox_writer = OutboxWriter(adapters, rules, settings.tz, wake=outbox_wake)
        inbox_worker = InboxWorker(
            sessions,
            adapters,
            ctx,
            outbox_writer,
            voice_intake=VoiceIntake(settings, wake=voice_wake),
            max_attempts=settings.inbox_max_attempts,
            lease=timedelta(seconds=settings.inbox_lease_s),
            name=f"{settings.instance_name}@{socket.gethostname()}",
        )
        sender = OutboxSender(
            sessions,
            adapters,
            clock,
            max_attempts=settings.outbox_max_attempts,
            lease=timedelta(seconds=settings.outbox_lease_s),
        )
        return cls(
            settings,
            rules,
            clock,
            engine,
            sessions,
            http,
            ctx,
            adapters,
            outbox_writer,
            inbox_worker,
            sender,
            wake,
            outbox_wake,
            voice_wake,
        )

    async def close(self) -> None:
        for adapter in self.adapters.values():
            try:
                await adapter.close()
            except Exception:
                log.exception("adapter_close_failed", platform=str(adapter.platform))
        await self.http.close()
        await self.engine.dispose()


def build_adapters(deps: AdapterDeps) -> dict[Platform, Adapter]:
    """One adapter per configured platform; an unconfigured platform is simply off."""
    adapters: dict[Platform, Adapter] = {}
    if deps.settings.wecom_enabled:
        from bot.wecom.adapter import WeComAdapter

        adapters[Platform.WECOM] = WeComAdapter(deps)
    if deps.settings.wecom_bot_enabled:
        from bot.wecom_bot.adapter import WeComBotAdapter

        adapters[Platform.WECOM_BOT] = WeComBotAdapter(deps)
    if deps.settings.dingtalk_enabled:
        from bot.dingtalk.adapter import DingTalkAdapter

        adapters[Platform.DINGTALK] = DingTalkAdapter(deps)
    return adapters


def build_extractor(
    settings: Settings, http: aiohttp.ClientSession, *, stages: tuple[str, ...]
) -> Extractor:
    if not settings.llm_enabled:
        return RuleExtractor(stages=stages)
    from bot.llm_extractor import LlmExtractor

    return LlmExtractor(
        base_url=settings.llm_base_url or "",
        api_key=settings.llm_api_key,
        model=settings.llm_model or "",
        timeout_s=settings.llm_timeout_s,
        session=http,
        stages=stages,
    )
