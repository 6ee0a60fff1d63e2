"""撤销 for money and leads: 开票/签收 steps, 回款 allocations, a contract's plan, 已联系."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import undo
from handlers.context import Context
from storage.models import Contract, CustomerEvent, Lead, Receivable, UndoableChange, User

STEP_KIND = "receivable_step"
CONTACTED_KIND = "lead_contacted"


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def snapshot(receivable: Receivable) -> dict[str, Any]:
    """What a receivable looked like before a step or a payment changed it."""
    return {
        "id": receivable.id,
        "step": receivable.step,
        "step_at": _at(receivable.step_at),
        "paid_yuan": str(receivable.paid_yuan),
        "paid_at": _at(receivable.paid_at),
        "invoice_ref": receivable.invoice_ref,
        "receipt_asked_at": _at(receivable.receipt_asked_at),
        "receipt_media_id": receivable.receipt_media_id,
        "due_on": receivable.due_on.isoformat(),
    }


async def restore(db: AsyncSession, snapshots: list[dict[str, Any]]) -> int:
    restored = 0
    for shot in snapshots:
        receivable = await db.get(Receivable, shot["id"])
        if receivable is None:
            continue
        receivable.step = shot["step"]
        receivable.step_at = _from(shot["step_at"]) or receivable.step_at
        receivable.paid_yuan = Decimal(shot["paid_yuan"])
        receivable.paid_at = _from(shot["paid_at"])
        receivable.invoice_ref = shot["invoice_ref"]
        receivable.receipt_asked_at = _from(shot["receipt_asked_at"])
        receivable.receipt_media_id = shot["receipt_media_id"]
        receivable.due_on = date.fromisoformat(shot["due_on"])
        restored += 1
    return restored


def remember_step(
    db: AsyncSession, *, user: User, before: dict[str, Any], summary: str, now: datetime
) -> None:
    undo.remember(
        db,
        user=user,
        kind=STEP_KIND,
        entity_id=before["id"],
        summary=summary,
        now=now,
        data={"receivables": [before]},
    )


async def _undo_step(db: AsyncSession, ctx: Context, user: User, change: UndoableChange) -> str:
    await restore(db, (change.data or {}).get("receivables", []))
    return change.summary


def remember_contacted(
    db: AsyncSession, *, user: User, lead: Lead, summary: str, now: datetime
) -> None:
    undo.remember(
        db,
        user=user,
        kind=CONTACTED_KIND,
        entity_id=lead.id,
        summary=summary,
        now=now,
        data={"at": now.isoformat()},
    )


async def _undo_contacted(
    db: AsyncSession, ctx: Context, user: User, change: UndoableChange
) -> str:
    lead = await db.get(Lead, change.entity_id)
    if lead is not None and _at(lead.first_touched_at) == (change.data or {}).get("at"):
        lead.first_touched_at = None
    return change.summary


async def drop_plan_of(db: AsyncSession, event: CustomerEvent) -> bool:
    """签约 undone: the contract it made and its expected payments go too."""
    contract = (
        await db.execute(select(Contract).where(Contract.event_id == event.id))
    ).scalar_one_or_none()
    if contract is None:
        return False
    await db.execute(delete(Receivable).where(Receivable.contract_id == contract.id))
    await db.delete(contract)
    await db.flush()
    return True


undo.register(STEP_KIND, _undo_step)
undo.register(CONTACTED_KIND, _undo_contacted)
