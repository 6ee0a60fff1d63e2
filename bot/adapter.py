"""The adapter contract: verify and store callbacks, payload → Event, deliver outbox rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiohttp import ClientSession, web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from handlers.chat import Event, Platform
from handlers.clock import Clock
from storage.models import Team, User
from storage.outbox import Address
from storage.queue_models import OutboxItem


@dataclass(frozen=True, slots=True)
class Sent:
    result: dict[str, object] | None = None  # e.g. {"response_code": "..."} from WeCom


@dataclass(frozen=True, slots=True)
class RetryAt:
    at: datetime
    error: str
    count_attempt: bool = True  # False: a rate-limit wait, not a failure


@dataclass(frozen=True, slots=True)
class Dead:
    error: str


Delivery = Sent | RetryAt | Dead


class Adapter(Protocol):
    platform: Platform

    def routes(self) -> list[web.RouteDef]:
        """Callback routes; they verify, store into the inbox and answer well under 100 ms."""
        ...

    def to_event(self, payload: str, *, received_at: datetime) -> Event:
        """A stored inbox payload → the chat model; ValueError for a payload it cannot read."""
        ...

    def reply_address(self, event: Event) -> Address:
        """Where answers to this event go (the sender's private chat, or a session webhook)."""
        ...

    def user_address(self, user: User) -> Address | None:
        """A user's private chat with the bot on this platform, if the user has an id here."""
        ...

    def team_addresses(self, team: Team) -> list[Address]:
        """The team's alert group chats configured on this platform."""
        ...

    def user_platform_id(self, user: User) -> str | None: ...

    async def deliver(self, item: OutboxItem) -> Delivery:
        """Send one outbox row. Never raises for platform errors: Sent, RetryAt or Dead."""
        ...

    async def download_media(self, event: Event, *, max_bytes: int) -> bytes:
        """Voice/image bytes for an event (raises MediaError with a user-facing problem)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class MediaError(Exception):
    """Media could not be fetched; `problem` is a short Chinese sentence for the user."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass
class AdapterDeps:
    """What every adapter is built from; one shared HTTP session, one clock, one sessionmaker."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    http: ClientSession
    wake_inbox: Callable[[], None]  # call after a new inbox row so the worker starts at once
