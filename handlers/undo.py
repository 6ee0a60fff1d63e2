"""撤销: take back the sender's last change within 24 hours.

A module whose command changes something calls `remember(...)` with a kind it has registered
with `register(kind, undoer)`; the undoer puts the rows back and says what it undid. The
registry is filled at import (the router imports every command module), so a new kind of
change — a payment plan, an invoice — is one `register` and one `remember` in its own module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.chat import Outgoing, Reply
from handlers.commands import Command
from handlers.context import Context
from handlers.errors import UserError
from storage import audit
from storage.models import UndoableChange, User

WINDOW = timedelta(hours=24)

# (db, ctx, the sender, the change) → what was undone, shown as 已撤销：<it>
Undoer = Callable[[AsyncSession, Context, User, UndoableChange], Awaitable[str]]
_UNDOERS: dict[str, Undoer] = {}


class NothingToUndo(UserError):
    pass


def register(kind: str, undoer: Undoer) -> None:
    """Make `kind` undoable; registering the same kind twice is a bug."""
    if kind in _UNDOERS and _UNDOERS[kind] is not undoer:
        raise ValueError(f"undo kind {kind!r} is registered twice")
    _UNDOERS[kind] = undoer


def registered_kinds() -> frozenset[str]:
    return frozenset(_UNDOERS)


def remember(
    db: AsyncSession,
    *,
    user: User,
    kind: str,
    entity_id: int,
    summary: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> UndoableChange:
    """Note a change `user` may take back with 撤销 (within 24 hours)."""
    if kind not in _UNDOERS:
        raise ValueError(f"undo kind {kind!r} has no undoer registered")
    change = UndoableChange(
        user_id=user.id,
        kind=kind,
        entity_id=entity_id,
        data=data,
        summary=summary[:200],
        created_at=now,
    )
    db.add(change)
    return change


async def forget(db: AsyncSession, *, kind: str, entity_id: int, now: datetime) -> None:
    """A change taken back another way (its row deleted): 撤销 must not find it any more."""
    stmt = select(UndoableChange).where(
        UndoableChange.kind == kind,
        UndoableChange.entity_id == entity_id,
        UndoableChange.undone_at.is_(None),
    )
    for change in (await db.execute(stmt)).scalars():
        change.undone_at = now


async def find_change(db: AsyncSession, *, kind: str, entity_id: int) -> UndoableChange | None:
    stmt = (
        select(UndoableChange)
        .where(UndoableChange.kind == kind, UndoableChange.entity_id == entity_id)
        .order_by(UndoableChange.id.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def undo_last(cmd: Command, db: AsyncSession, ctx: Context) -> list[Outgoing]:
    """撤销: the sender's latest change not yet undone, if it is under 24 hours old."""
    now = ctx.clock.now()
    stmt = (
        select(UndoableChange)
        .where(
            UndoableChange.user_id == cmd.user.id,
            UndoableChange.undone_at.is_(None),
            UndoableChange.created_at >= now - WINDOW,
        )
        .order_by(UndoableChange.created_at.desc(), UndoableChange.id.desc())
        .limit(1)
    )
    change = (await db.execute(stmt)).scalar_one_or_none()
    if change is None:
        raise NothingToUndo(
            "24 小时内没有可以撤销的改动（跟进、阶段、签约、交付、回款、承诺）",
            example="跟进 启明科技 电话确认了试用安排",
        )
    undoer = _UNDOERS.get(change.kind)
    if undoer is None:
        raise NothingToUndo(f"「{change.summary}」无法撤销，请联系主管更正", example="帮助")
    what = await undoer(db, ctx, cmd.user, change)
    change.undone_at = now
    audit.record(
        db,
        at=now,
        actor_id=cmd.user.id,
        action="undone",
        entity=change.kind,
        entity_id=change.entity_id,
        before={"change": change.id, "summary": change.summary, "data": change.data},
        note=f"{cmd.user.name} 撤销了：{what}",
    )
    return [Reply(f"已撤销：{what}")]
