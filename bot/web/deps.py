"""What the board's request handlers need from the runtime, under one typed app key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.cache import StaleWhileRevalidate
from config.rules import Rules
from config.settings import Settings
from handlers.board.funnel import FunnelHistory
from handlers.clock import Clock


@dataclass(frozen=True)
class BoardDeps:
    settings: Settings
    rules: Rules
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    wecom: Any = None  # bot.wecom.client.WeComClient when WeCom is configured (网页授权)
    dingtalk: Any = None  # bot.dingtalk.client.DingTalkClient when DingTalk is configured (免登)
    funnel_cache: StaleWhileRevalidate[FunnelHistory] = field(default_factory=StaleWhileRevalidate)

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def secure_cookies(self) -> bool:
        return self.settings.public_url.startswith("https://")


BOARD = web.AppKey("board", BoardDeps)
