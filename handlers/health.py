"""Customer health score (0–100): SOP tasks done on time, late or missed move it, audited."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from storage import audit
from storage.models import Customer, Task


class Outcome(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"


OUTCOME_LABEL = {Outcome.ON_TIME: "按时完成", Outcome.LATE: "逾期完成", Outcome.MISSED: "已错过"}


def score_delta(outcome: Outcome, rules: Rules) -> int:
    return {
        Outcome.ON_TIME: rules.health.on_time,
        Outcome.LATE: rules.health.late,
        Outcome.MISSED: rules.health.missed,
    }[outcome]


def apply_outcome(
    db: AsyncSession,
    customer: Customer,
    task: Task,
    outcome: Outcome,
    *,
    rules: Rules,
    now: datetime,
    actor_id: int | None,
) -> int:
    """Move the customer's score for one task outcome (clamped to 0–100), audited; the new score."""
    before = customer.health_score
    customer.health_score = max(0, min(100, before + score_delta(outcome, rules)))
    audit.record(
        db,
        at=now,
        actor_id=actor_id,
        action="health_changed",
        entity="customer",
        entity_id=customer.id,
        before={"health_score": before},
        after={"health_score": customer.health_score},
        note=f"任务 #{task.id} {task.title}：{OUTCOME_LABEL[outcome]}",
    )
    return customer.health_score
