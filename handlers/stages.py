"""Stage moves: one place that checks the rules, writes the history and the audit row, and
takes a move back (撤销, a corrected note)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers import undo
from handlers.context import Context
from handlers.errors import UserError
from storage import audit
from storage.models import Customer, StageChange, UndoableChange, User


def move_allowed(rules: Rules, customer: Customer, to_stage: str) -> bool:
    return to_stage in rules.stage_names and rules.can_move(customer.stage, to_stage)


def stages_reachable(rules: Rules, from_stage: str) -> list[str]:
    """The stages a rep may move a customer to from `from_stage` (forward, or 丢单)."""
    return [s for s in rules.stage_names if rules.can_move(from_stage, s)]


def move_stage(
    db: AsyncSession,
    customer: Customer,
    to_stage: str,
    *,
    by: User,
    now: datetime,
    reason: str | None = None,
) -> dict[str, Any]:
    """Move and record it; returns what taking the move back needs (JSON-safe)."""
    before = customer.stage
    undo_data = {
        "customer_id": customer.id,
        "from": before,
        "to": to_stage,
        "entered_at": customer.stage_entered_at.isoformat(),
        "evidence_at": _iso(customer.last_evidence_at),
    }
    customer.stage = to_stage
    customer.stage_entered_at = now
    customer.last_evidence_at = now
    db.add(
        StageChange(
            customer_id=customer.id, from_stage=before, to_stage=to_stage, at=now, by_user_id=by.id
        )
    )
    audit.record(
        db,
        at=now,
        actor_id=by.id,
        action="stage_move",
        entity="customer",
        entity_id=customer.id,
        before={"stage": before},
        after={"stage": to_stage},
        note=f"原因：{reason}" if reason else None,
    )
    return undo_data


async def revert_move(db: AsyncSession, data: dict[str, Any], *, by: User, now: datetime) -> bool:
    """Put a customer back where a move found it; False when it has moved again since."""
    customer = await db.get(Customer, data["customer_id"])
    if customer is None or customer.stage != data["to"]:
        return False
    customer.stage = data["from"]
    customer.stage_entered_at = datetime.fromisoformat(data["entered_at"])
    evidence = data.get("evidence_at")
    customer.last_evidence_at = datetime.fromisoformat(evidence) if evidence else None
    history = await db.execute(
        select(StageChange)
        .where(
            StageChange.customer_id == customer.id,
            StageChange.from_stage == data["from"],
            StageChange.to_stage == data["to"],
        )
        .order_by(StageChange.id.desc())
        .limit(1)
    )
    row = history.scalar_one_or_none()
    if row is not None:
        await db.delete(row)
    audit.record(
        db,
        at=now,
        actor_id=by.id,
        action="stage_move_undone",
        entity="customer",
        entity_id=customer.id,
        before={"stage": data["to"]},
        after={"stage": data["from"]},
    )
    return True


async def _undo_stage(db: AsyncSession, ctx: Context, user: User, change: UndoableChange) -> str:
    data = change.data or {}
    if not await revert_move(db, data, by=user, now=ctx.clock.now()):
        raise UserError(f"{change.summary} 之后阶段又变过，无法撤销；查看现状", example="我的")
    return f"{change.summary}（已回到「{data['from']}」）"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


undo.register("stage", _undo_stage)
