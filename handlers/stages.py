"""Stage moves: one place that checks the rules, writes the history and the audit row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from storage import audit
from storage.models import Customer, StageChange, User


def move_allowed(rules: Rules, customer: Customer, to_stage: str) -> bool:
    return to_stage in rules.stage_names and rules.can_move(customer.stage, to_stage)


def move_stage(
    db: AsyncSession, customer: Customer, to_stage: str, *, by: User, now: datetime
) -> None:
    before = customer.stage
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
    )
