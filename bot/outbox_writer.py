"""Handler output → outbox rows (not sending: bot/outbox_sender.py does that): answers, pushes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import Adapter
from bot.wakes import wake_after_commit
from config.rules import Rules
from handlers.card_fit import fit_outgoing
from handlers.chat import Event, Outgoing, Platform, Push, RecipientKind, message_to_payload
from handlers.quiet import quiet_until
from storage import outbox
from storage.models import Team, User
from storage.outbox import Address
from storage.queue_models import ItemStatus, OutboxItem

log = structlog.get_logger()

UNROUTABLE = Address(platform="none", channel="unroutable", target="", rate_key="none")


class OutboxWriter:
    def __init__(
        self,
        adapters: Mapping[Platform, Adapter],
        rules: Rules,
        tz: object,
        *,
        wake: asyncio.Event | None = None,
    ) -> None:
        self.adapters = adapters
        self.rules = rules
        self.tz = tz
        self.wake = wake  # the outbox sender's: set once the rows are committed

    async def enqueue(
        self,
        db: AsyncSession,
        items: Sequence[Outgoing],
        *,
        now: datetime,
        event: Event | None = None,
        source: str | None = None,
    ) -> None:
        items = fit_outgoing(items)  # within every platform's card and text limits, split
        if items:
            wake_after_commit(db, self.wake)
        for index, item in enumerate(items):
            if isinstance(item, Push):
                await self._push(db, item, now=now, source=source)
            elif event is not None and event.platform in self.adapters:
                address = self.adapters[event.platform].reply_address(event)
                await outbox.add(
                    db,
                    address,
                    message_to_payload(item),
                    now=now,
                    dedupe_key=f"reply:{event.platform}:{event.message_id}:{index}",
                    source=source,
                )
            else:
                log.warning("reply_without_platform", source=source)

    async def _push(
        self, db: AsyncSession, push: Push, *, now: datetime, source: str | None
    ) -> None:
        addresses, mention = await self._addresses(db, push)
        not_before = None if push.urgent else quiet_until(now, self.rules.quiet_hours, self.tz)  # type: ignore[arg-type]
        payload = message_to_payload(push.message, mention=mention)
        if not addresses:
            await self._unroutable(db, push, payload, now=now, source=source)
            return
        for address in addresses:
            key = (
                f"{push.dedupe_key}:{address.platform}:{address.target}"
                if push.dedupe_key
                else None
            )
            await outbox.add(
                db, address, payload, now=now, not_before=not_before, dedupe_key=key, source=source
            )

    async def _addresses(
        self, db: AsyncSession, push: Push
    ) -> tuple[list[Address], tuple[str, ...]]:
        if push.kind == RecipientKind.USER:
            user = await db.get(User, push.recipient_id)
            for adapter in self.adapters.values():
                # inactive users too: a leaving rep is told where their customers went
                address = adapter.user_address(user) if user is not None else None
                if address is not None:
                    return [address], ()
            return [], ()
        team = await db.get(Team, push.recipient_id)
        for adapter in self.adapters.values():
            addresses = adapter.team_addresses(team) if team is not None else []
            if addresses:
                mention = []
                for user_id in push.mention_user_ids:
                    user = await db.get(User, user_id)
                    platform_id = adapter.user_platform_id(user) if user is not None else None
                    if platform_id:
                        mention.append(platform_id)
                return addresses, tuple(mention)
        return [], ()

    async def _unroutable(
        self,
        db: AsyncSession,
        push: Push,
        payload: dict[str, object],
        *,
        now: datetime,
        source: str | None,
    ) -> None:
        """Nobody can be reached (no platform id, no group configured): keep it visible as dead."""
        error = f"no platform address for {push.kind} {push.recipient_id}"
        log.warning("push_unroutable", kind=str(push.kind), recipient_id=push.recipient_id)
        key = f"{push.dedupe_key}:unroutable" if push.dedupe_key else None
        item_id = await outbox.add(
            db, UNROUTABLE, dict(payload), now=now, dedupe_key=key, source=source
        )
        if item_id is not None:
            row = await db.get(OutboxItem, item_id)
            if row is not None:
                row.status, row.last_error, row.target = (
                    ItemStatus.DEAD,
                    error,
                    str(push.recipient_id),
                )
